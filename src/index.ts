// `ecrctl` as a library: the ops the CLI runs, the Session they share, their option and
// result types, and the error classes. Importing this module does nothing by itself: no
// environment writes, no timers, no process hooks, and no AWS SDK until an op needs it.

/**
 * ecrctl, the library: everything the `ecrctl` command does, as functions.
 *
 * Create a {@link Session} once (credentials, region, cancellation, progress events), then
 * call ops with it. Every op is `(session, options) => Promise<result>`: it never prints,
 * never exits, and throws an {@link EcrctlError} subclass whose `exitCode` says what kind of
 * failure it was.
 *
 * @example
 * ```ts
 * import { copy, createSession, InterruptedError } from 'ecrctl';
 *
 * const controller = new AbortController();
 * const session = createSession({
 *   region: 'eu-west-1',
 *   signal: controller.signal,
 *   onEvent: (e) => {
 *     if (e.type === 'transfer' && e.event.kind === 'blob-done') console.error('sent', e.event.descriptor.digest);
 *   },
 * });
 * setTimeout(() => controller.abort(), 10 * 60_000); // give up after ten minutes
 * try {
 *   const result = await copy(session, {
 *     source: 'public.ecr.aws/docker/library/alpine:3.20',
 *     target: 'mirror/alpine:3.20',
 *     tags: ['latest'],
 *   });
 *   console.log(result.imageUri); // 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/alpine@sha256:…
 * } catch (err) {
 *   if (err instanceof InterruptedError) console.error('gave up: no tag was written');
 *   throw err;
 * }
 * ```
 *
 * Other entry points: `ecrctl/local` (the ECR emulator, `startLocal()`), and
 * `ecrctl/cloudformation` (a Lambda handler for a CloudFormation custom resource that copies
 * an image into ECR).
 *
 * @packageDocumentation
 */

// ---- the session -----------------------------------------------------------------------

export {
  type AwsCredentialsInput,
  type AwsOptions,
  createSession,
  type EventListener,
  type Logger,
  type LogLevel,
  type SecretSink,
  type Session,
  type SessionEvent,
  type SessionOptions,
} from './session.js';

// ---- transfers: push, pull, copy, inspect, tags ----------------------------------------

export {
  type CopyAllTagsOptions,
  type CopyDryRun,
  type CopyOptions,
  copy,
  copyAllTags,
  getManifest,
  hostPlatform,
  type InspectResult,
  inspect,
  listTags,
  type PlannedBlob,
  type PushOptions,
  planCopy,
  planCopyAllTags,
  type PushResult,
  pull,
  push,
  type TransferOptions,
  type TransferResult,
} from './ops/transfer.js';
export type { PushPlan } from './ops/push-plan.js';
export type { CopyEvent, CopySummary, PlatformSpec } from './oci/copy.js';
export type { BlobPutResult } from './oci/store.js';
export type { Descriptor, Platform } from './oci/types.js';
export type { ReferrerOutcome, ReferrersReport } from './oci/referrers.js';

// ---- tags on existing images -----------------------------------------------------------

export { MAX_TAGS_PER_IMAGE, type PromoteOptions, type PromoteResult, promote } from './ops/promote.js';

// ---- repositories ----------------------------------------------------------------------

export {
  type CreatedRepository,
  type CreateRepositoriesOptions,
  type CreateRepositoriesResult,
  createRepositories,
  type Deferred,
  type PlannedRepository,
} from './ops/create-repo.js';
export {
  type DeleteRepositoryOptions,
  type DeleteRepositoryResult,
  deleteRepository,
} from './ops/delete-repo.js';
export {
  type ListRepositoriesOptions,
  type ListRepositoriesResult,
  listRepositories,
  type RepositoryRow,
} from './ops/repos.js';

// ---- images ----------------------------------------------------------------------------

export {
  type ListImagesOptions,
  type ListImagesResult,
  listImages,
  listPublicTags,
  type PublicTagsResult,
} from './ops/images.js';
export {
  type DeleteImagesOptions,
  type DeleteImagesResult,
  type DeleteResult,
  deleteImages,
  deleteImagesError,
} from './ops/delete.js';

// ---- login -----------------------------------------------------------------------------

export {
  type LoginFileOptions,
  type LoginOptions,
  type LoginResult,
  type LoginToken,
  type LogoutOptions,
  type LogoutResult,
  login,
  logout,
  type PullSecretManifest,
  type PullSecretTarget,
  findCredentialHelper,
  helperPathWarning,
  parsePullSecretTarget,
  pullSecretManifest,
} from './ops/login.js';
// Custom domains and mirrors (the registries: map), the kubelet provider, dual-stack hosts.
export { loadRegistryEntries, mirroredRepository, type RegistryRoute, routeFor, routeToken } from './ops/registries.js';
export {
  type CredentialProviderRequest,
  type CredentialProviderResponse,
  kubeletCredentials,
  parseCredentialProviderRequest,
} from './ops/kubelet.js';
export { dualStackWanted, toDualStackHost } from './ecr/hosts.js';

// ---- policies --------------------------------------------------------------------------

export {
  deletePolicy,
  getPolicy,
  type PolicyDocumentInput,
  type PolicyScope,
  type PolicyTarget,
  type PolicyTemplateOptions,
  type PolicyTemplateResult,
  policyTemplate,
  type StoredPolicy,
  setPolicy,
  type ValidatePolicyOptions,
  type ValidatePolicyResult,
  policyDocumentProblems,
  validatePolicy,
} from './ops/policy.js';
export {
  type IamPolicyOptions,
  type IamPolicyResult,
  iamPolicy,
  type PolicyDocument,
  type VerbGroup,
} from './ops/iam-policy.js';

// ---- lifecycle policies ----------------------------------------------------------------

export {
  checkLifecyclePolicy,
  checkProtection,
  type DeleteLifecycleResult,
  deleteLifecyclePolicy,
  diffLifecyclePolicy,
  getLifecyclePolicy,
  type ImageChange,
  type LifecycleDiff,
  type LifecyclePolicyInput,
  type LifecycleRepositoryOptions,
  type LifecycleSimulation,
  type LifecycleValidation,
  lifecyclePolicyError,
  type PreviewLifecycleOptions,
  type PutLifecycleResult,
  previewLifecyclePolicy,
  putLifecyclePolicy,
  type RuleDiff,
  type SimulateLifecycleOptions,
  type StoredPolicy as StoredLifecyclePolicy,
  simulateLifecyclePolicy,
  validateLifecyclePolicy,
  waitForLifecyclePreview,
} from './ops/lifecycle.js';
export type {
  LifecycleDecision,
  LifecycleImage,
  LifecyclePolicy,
  LifecycleProblem,
  LifecycleRule,
  PresetSpec,
} from './policy/lifecycle/index.js';
export { isPresetSource, parsePresetSource, renderPresetSource } from './policy/lifecycle/index.js';
// Validator problems in one format: sorted by position, `FILE:line:column field: problem — fix`.
export {
  type FileProblem,
  formatFileProblem,
  formatFileProblems,
  lifecycleFileProblems,
  policyFileProblems,
  sortProblems,
} from './policy/problems.js';

// ---- scanning --------------------------------------------------------------------------

export {
  checkScanReport,
  getScanningConfig,
  type ScanImageOptions,
  type ScanReport,
  type SetScanningConfigOptions,
  scanImage,
  setScanningConfig,
} from './ops/scan.js';
export type {
  IgnoreEntry,
  PlatformReport,
  ScanningConfiguration,
  ScanningRule,
  ScanType,
} from './policy/scan.js';

// ---- replication -----------------------------------------------------------------------

export {
  type AddReplicationRuleOptions,
  addReplicationRule,
  type Backfill,
  type BackfillOptions,
  backfillReplication,
  type CopyOutcome,
  checkBackfill,
  checkReplicatedImage,
  checkReplicationStatus,
  type DestinationStatus,
  getReplicationRules,
  parseReplicationRules,
  type RemoveReplicationRuleOptions,
  type ReplicateImageOptions,
  type ReplicateImageResult,
  type ReplicationRules,
  type ReplicationStatusOptions,
  type ReplicationStatusReport,
  removeReplicationRule,
  replicateImage,
  replicationStatus,
  setReplicationRules,
} from './ops/replicate.js';
export type { ReplicationDestination, ReplicationRule } from './policy/replication.js';

// ---- archive storage class -------------------------------------------------------------

export {
  archiveImages,
  restoreImages,
  type StorageClassOptions,
  type StorageClassResult,
  type StorageResult,
  storageClassError,
} from './ops/archive.js';

// ---- managed signing -------------------------------------------------------------------

export {
  deleteSigningRules,
  getSigningRules,
  type ImageSigningRow,
  type ImageSigningStatus,
  parseSigningRules,
  type SetSigningRulesOptions,
  type SigningRule,
  type SigningRules,
  type SigningStatusOptions,
  type SigningStatusResult,
  setSigningRules,
  signingStatus,
  signingStatusError,
} from './ops/signing.js';

// ---- repository creation templates -----------------------------------------------------

export {
  type CreateTemplateOptions,
  type CreationTemplate,
  createTemplate,
  deleteTemplate,
  listTemplates,
  type TemplatePrefix,
  type TemplateUse,
} from './ops/template.js';

// ---- pull-through cache ----------------------------------------------------------------

export {
  type CacheRule,
  type CacheRulePrefix,
  type CacheRuleValidation,
  type CreateCacheRuleOptions,
  cacheRuleValidationError,
  createCacheRule,
  deleteCacheRule,
  listCacheRules,
  type Upstream,
  validateCacheRule,
} from './ops/cache-rule.js';

// ---- cost ------------------------------------------------------------------------------

export {
  type EstimateCostOptions,
  type EstimateCostResult,
  estimateCost,
  loadPricingRates,
  type MeasureStorageOptions,
  measureStorage,
} from './ops/cost.js';
export type { CostEstimate, PricingRates, StorageMeasure } from './policy/pricing.js';

// ---- errors ----------------------------------------------------------------------------

export {
  AuthError,
  DigestMismatchError,
  EcrctlError,
  type ErrorDetails,
  ExitCode,
  HttpStatusError,
  InterruptedError,
  isEcrctlError,
  NotFoundError,
  RateLimitedError,
  RuleViolation,
  ScanThresholdError,
  UsageError,
} from './errors.js';

// ---- version ---------------------------------------------------------------------------

export { userAgent, VERSION } from './version.js';

// Whole registries: plan, apply and check a sync config (see `ecrctl help sync-config`).
export {
  applySync,
  checkSync,
  planSync,
  type StaleTag,
  type SyncApplyOptions,
  type SyncBackup,
  type SyncApplyResult,
  type SyncCheckResult,
  type SyncCounts,
  type SyncFailure,
  type SyncOptions,
  type SyncPlan,
  type SyncRepository,
  type SyncStage,
  type SyncSuccess,
  type SyncTag,
} from './ops/sync.js';
export { excludeFromPullTime, loadSyncLifecycles } from './ops/sync-settings.js';
export {
  parseSyncConfig,
  type SideCredentials,
  type SyncConfig,
  type SyncCredentials,
  type SyncEntry,
  type SyncLifecycle,
} from './policy/sync-config.js';
export { type SessionAccess, sessionWithAccess } from './ops/ecr.js';

// Inventory and in-use-aware cleanup across accounts and regions.
export {
  collectImages,
  IMAGES_PER_REPOSITORY_QUOTA,
  type IdleBucket,
  type InventoryImage,
  type InventoryOptions,
  type InventoryRepository,
  type InventoryResult,
  type InventoryTargets,
  type InventoryTotals,
  inventory,
  readInUseEvidence,
} from './ops/inventory.js';
export {
  type PruneEntry,
  type PruneFailure,
  type PruneOptions,
  type PruneResult,
  parseDays,
  prune,
} from './ops/prune.js';
export {
  type InUseEvidence,
  type InUseMatch,
  type InUseRef,
  matchInUse,
  parseImageRef,
  parseInUseEvidence,
} from './policy/in-use.js';
export { expireTags, type PruneDecision, type PruneImage, type PruneRules, planPrune } from './policy/prune/index.js';

// Signature verification (Notary Project JWS and COSE envelopes, offline).
export {
  checkVerified,
  loadTrustStore,
  pinToVerified,
  requireSigned,
  type SignatureVerification,
  type TrustOptions,
  type VerifyOptions,
  type VerifyResult,
  verifyImage,
} from './ops/verify.js';
export {
  CHECKS,
  type CheckName,
  type CheckResult,
  type EnvelopeVerification,
  type TrustAnchor,
  verifyEnvelope,
} from './oci/notary/verify.js';
export { parseEnvelope, targetArtifactOf } from './oci/notary/envelope.js';
export type { SignatureEnvelope, TargetArtifact } from './oci/notary/model.js';
export {
  defaultTrustPolicy,
  matchIdentity,
  parseTrustPolicy,
  selectStatement,
  type TrustPolicy,
  type TrustPolicyStatement,
} from './policy/trust-policy.js';

// Daemonless builds: a base image plus reproducible layers; rebase; check-base.
export { type BlobOutcome, type BuildOptions, type BuildResult, build, type LayerReport } from './ops/build.js';
export { type RebaseOptions, rebase } from './ops/rebase.js';
export { type CheckBaseOptions, type CheckBaseResult, checkBase } from './ops/check-base.js';

// Artifacts (files, Helm charts), referrers: attach and discover.
export {
  type ArtifactFileSpec,
  type ArtifactPullOptions,
  type ArtifactPullResult,
  type ArtifactPushOptions,
  type ArtifactPushResult,
  artifactPull,
  artifactPush,
  type HelmPushOptions,
  type HelmPushResult,
  helmPush,
  type PulledFile,
  parseFileSpec,
} from './ops/artifact.js';
export { type AttachOptions, type AttachResult, attach } from './ops/attach.js';
export {
  type DiscoverOptions,
  type DiscoverResult,
  discover,
  type ReferrerNode,
  type ReferrerSource,
} from './ops/discover.js';
export {
  artifactTypeProblems,
  descriptorMediaTypeProblems,
  MEDIA_TYPE_RULES,
  type MediaTypeProblem,
  manifestMediaTypeProblems,
} from './policy/artifact-media-types.js';

// The pull-time update exclusion list (manifest reads ECR does not record as pulls).
export {
  addPullTimeExclusion,
  checkPrincipalArn,
  listPullTimeExclusionPrincipals,
  type PullTimeExclusionChange,
  type PullTimeExclusionList,
  removePullTimeExclusion,
} from './ops/pull-time-exclusion.js';

// ECR's account settings (BLOB_MOUNTING and the others).
export {
  ACCOUNT_SETTING_VALUES,
  type AccountSetting,
  getAccountSetting,
  setAccountSetting,
} from './ops/account-setting.js';

// Image configurations, and the HTTP trace's redaction (--debug).
export {
  type HistoryStep,
  type ImageConfigView,
  type InspectConfigResult,
  inspectConfig,
} from './ops/inspect-config.js';
export { formatTrace, type HttpTraceEntry, redactHeader, redactUrl } from './oci/transport/trace.js';
