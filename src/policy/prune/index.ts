// Prune's rules beside the lifecycle engine: the planner and tag-level expiry. Pure.
export { type PruneDecision, type PruneImage, type PruneRules, planPrune } from './plan.js';
export { expireTags, type TagExpiry } from './tag-expiry.js';
