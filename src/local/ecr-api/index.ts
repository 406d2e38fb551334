// Every ECR API operation the local endpoint answers, by name. Adding an operation means
// adding one handler to a family's table (or a new family file listed here).
import { imageOperations } from './images.js';
import type { OperationTable } from './kit.js';
import { layerOperations } from './layers.js';
import { registryOperations } from './registry.js';
import { repositoryOperations } from './repositories.js';

/** The ECR (private) operations, by operation name. */
export const ECR_OPERATIONS: OperationTable = {
  ...repositoryOperations,
  ...registryOperations,
  ...imageOperations,
  ...layerOperations,
};
