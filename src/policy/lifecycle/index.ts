// The lifecycle policy engine: validate, simulate, presets. Pure (no I/O, no clock, no SDK),
// shared by `ecrctl lifecycle` and the local ECR emulator.
export {
  isPresetSource,
  listPresets,
  type PresetSpec,
  parsePresetSource,
  renderPreset,
  renderPresetSource,
} from './presets.js';
export { simulateLifecycle } from './simulate.js';
export type { LifecycleDecision, LifecycleImage, LifecyclePolicy, LifecycleProblem, LifecycleRule } from './types.js';
export { parseLifecyclePolicy } from './validate.js';
