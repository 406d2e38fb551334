// Every ECR API operation the local endpoint answers, by name. Adding an operation means
// adding one handler to a family's table (or a new family file listed here).
import { accountSettingOperations } from './account-settings.js';
import { cacheRuleOperations } from './cache-rules.js';
import { imageOperations } from './images.js';
import type { OperationTable } from './kit.js';
import { layerOperations } from './layers.js';
import { policyOperations } from './policies.js';
import { pullTimeOperations } from './pull-time.js';
import { referrerOperations } from './referrers.js';
import { lifecycleOperations } from './lifecycle.js';
import { registryOperations } from './registry.js';
import { replicationOperations } from './replication.js';
import { repositoryOperations } from './repositories.js';
import { scanningOperations } from './scanning.js';
import { signingOperations } from './signing.js';
import { storageOperations } from './storage.js';
import { templateOperations } from './templates.js';

/** The ECR (private) operations, by operation name. */
export const ECR_OPERATIONS: OperationTable = {
  ...repositoryOperations,
  ...registryOperations,
  ...imageOperations,
  ...layerOperations,
  ...lifecycleOperations,
  ...replicationOperations,
  ...cacheRuleOperations,
  ...templateOperations,
  ...policyOperations,
  ...signingOperations,
  ...pullTimeOperations,
  ...referrerOperations,
  ...accountSettingOperations,
  // Last: it also wraps DescribeImages (adding the scan status), so it must win that name.
  ...scanningOperations,
  // After scanning: it wraps DescribeImages, ListImages, BatchGetImage and StartImageScan (archived images).
  ...storageOperations,
};
