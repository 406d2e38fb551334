// Tag-level expiry, a rule ECR lifecycle policies cannot express (containers-roadmap #2568):
// remove the tags that match a pattern and keep the image while any other tag still names it.
// Pure.

/** What expiring the matching tags of one image leaves. */
export interface TagExpiry {
  /** The tags that match and are removed. */
  removed: string[];
  /** The tags that stay; none left means the image itself goes. */
  remaining: string[];
}

/** Returns which of an image's tags a tag-expiry rule removes and which stay. */
export function expireTags(tags: readonly string[], matches: (tag: string) => boolean): TagExpiry {
  const removed: string[] = [];
  const remaining: string[] = [];
  for (const tag of tags) (matches(tag) ? removed : remaining).push(tag);
  return { removed, remaining };
}
