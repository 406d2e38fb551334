// pull-time-exclusion: the registry's pull-time update exclusion list. ECR records every
// manifest read (BatchGetImage, a data-plane manifest GET) as a pull of the image
// (lastRecordedPullTime), which makes read-only tooling — audits, cost reports, lifecycle
// simulations — look like real pulls and defeats sinceImagePulled rules. A principal on this
// list reads manifests without that record.
import { deregisterPullTimeExclusion, listPullTimeExclusions, registerPullTimeExclusion } from '../ecr/images.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/** An IAM user or role ARN, the principals ECR takes for the list. */
const PRINCIPAL_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(user|role)\/[\w+=,.@/-]+$/;

/** Throws UsageError unless text is the ARN of an IAM user or role. */
export function checkPrincipalArn(text: string): void {
  if (!PRINCIPAL_ARN.test(text)) {
    throw new UsageError(`not the ARN of an IAM user or role: ${text}`, {
      rule: 'a pull-time update exclusion names an IAM principal by ARN',
      value: text,
      fix: 'give arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME (`aws sts get-caller-identity` prints yours)',
    });
  }
}

/** What addPullTimeExclusion did. */
export interface PullTimeExclusionChange {
  /** The principal's ARN. */
  principalArn: string;
  /** True when the list changed (false: it was already on it / was not on it). */
  changed: boolean;
  /** When the exclusion was created (add, when ECR says). */
  createdAt?: Date;
}

/** Adds a principal to the session registry's exclusion list; already there is not an error. */
export async function addPullTimeExclusion(
  session: Session,
  opts: { principalArn: string },
): Promise<PullTimeExclusionChange> {
  checkPrincipalArn(opts.principalArn);
  const conn = await ecrConnection(session);
  const out = await registerPullTimeExclusion(conn, opts.principalArn);
  if (out.outcome === 'exists') {
    session.log.info(`${opts.principalArn} is already on the pull-time update exclusion list`);
    return { principalArn: opts.principalArn, changed: false };
  }
  session.log.info(`ECR no longer records pulls by ${opts.principalArn}`);
  return { principalArn: opts.principalArn, changed: true, ...(out.createdAt ? { createdAt: out.createdAt } : {}) };
}

/** Removes a principal from the list; NotFoundError when it is not on it. */
export async function removePullTimeExclusion(
  session: Session,
  opts: { principalArn: string },
): Promise<PullTimeExclusionChange> {
  checkPrincipalArn(opts.principalArn);
  const conn = await ecrConnection(session);
  if (!(await deregisterPullTimeExclusion(conn, opts.principalArn))) {
    throw new NotFoundError(`${opts.principalArn} is not on the pull-time update exclusion list`, {
      value: opts.principalArn,
      fix: '`ecrctl pull-time-exclusion list` shows the principals on it',
    });
  }
  session.log.info(`ECR records pulls by ${opts.principalArn} again`);
  return { principalArn: opts.principalArn, changed: true };
}

/** The principals on the session registry's exclusion list. */
export interface PullTimeExclusionList {
  principals: string[];
}

/** Returns the principals on the session registry's pull-time update exclusion list. */
export async function listPullTimeExclusionPrincipals(session: Session): Promise<PullTimeExclusionList> {
  const conn = await ecrConnection(session);
  return { principals: await listPullTimeExclusions(conn) };
}
