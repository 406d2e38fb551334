// The words of the ECR lifecycle policy document and of its evaluation. Types only.

/** One thing ECR would reject in a policy, with where it is and what to do about it. */
export interface LifecycleProblem {
  /** The rule's rulePriority, when it has a usable one. */
  rulePriority?: number;
  /** The rule's position in `rules` (0-based). */
  ruleIndex?: number;
  /** The field inside the rule (`selection.countUnit`), or a top-level name (`rules`). */
  field?: string;
  message: string;
  fix?: string;
  /** 1-based position in the policy text. */
  line?: number;
  column?: number;
}

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type StorageClass = 'standard' | 'archive';
export type CountType = 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: TagStatus;
    tagPrefixList?: string[];
    tagPatternList?: string[];
    storageClass?: StorageClass;
    countType: CountType;
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' | 'transition'; targetStorageClass?: 'archive' };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/** An image as the simulator sees it. */
export interface LifecycleImage {
  digest: string;
  tags: string[];
  pushedAt: Date;
  lastPulledAt?: Date;
  lastArchivedAt?: Date;
  storageClass?: StorageClass;
  sizeBytes?: number;
  /** digests of image indexes (manifest lists) that reference this image */
  referencedBy?: string[];
}

/** What the policy does to one image, and why. */
export interface LifecycleDecision {
  digest: string;
  tags: string[];
  action: 'keep' | 'expire' | 'transition';
  /** The rule that decided (for `keep`: the first rule that selects the image, if any). */
  rulePriority?: number;
  reason: string;
  sizeBytes?: number;
}
