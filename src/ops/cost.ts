// cost: a monthly estimate of ECR storage and data transfer from amounts the caller gives (or
// storage measured from real repositories), priced by the built-in rate table or another one.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { globToRegExp, listRepositories } from '../ecr/repositories.js';
import { repositoryLayers } from '../ecr/storage.js';
import { NotFoundError, UsageError } from '../errors.js';
import {
  type CostEstimate,
  type CostInput,
  DEFAULT_PRICING_RATES,
  estimateCost as priceScenario,
  measureRepositoryStorage,
  type PricingRates,
  parsePricingRates,
  type StorageMeasure,
} from '../policy/pricing.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/**
 * Returns the rate table of a JSON file (relative to session.cwd), checked; the built-in
 * table (DEFAULT_PRICING_RATES) without a file. NotFoundError when the file does not exist.
 */
export async function loadPricingRates(session: Session, file?: string): Promise<PricingRates> {
  if (file === undefined) return DEFAULT_PRICING_RATES;
  let text: string;
  try {
    text = await readFile(path.resolve(session.cwd, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`pricing file not found: ${file}`, {
        value: file,
        fix: 'write one to edit with: ecrctl cost --print-pricing > rates.json',
        cause: err,
      });
    }
    throw err;
  }
  session.log.verbose(`rates from ${file}`);
  return parsePricingRates(text, file);
}

/** What measureStorage accepts. */
export interface MeasureStorageOptions {
  /** A glob over repository names of the session's default registry (`*` for all). */
  repositories: string;
  /**
   * Read every image's manifest (BatchGetImage) to count each layer once per repository.
   * ECR records each read as a pull of the image (unless the caller is on the pull-time
   * update exclusion list), so by default the sizes DescribeImages reports are summed
   * instead: each image counted in full, nothing recorded as pulled.
   */
  readManifests?: boolean;
}

/** The measured storage, and whether layers were read (else: image sizes, sharing unmeasured). */
export type MeasuredStorage = StorageMeasure & { layersRead: boolean };

/**
 * Returns the storage of the repositories matching a glob: with readManifests each layer
 * counted once per repository as ECR bills it, else the image sizes of DescribeImages (an
 * upper bound). NotFoundError when no repository matches.
 */
export async function measureStorage(session: Session, opts: MeasureStorageOptions): Promise<MeasuredStorage> {
  const pattern = opts.repositories;
  const conn = await ecrConnection(session);
  const match = globToRegExp(pattern);
  const names = (await listRepositories(conn))
    .map((r) => r.name)
    .filter((n) => match.test(n))
    .sort();
  if (names.length === 0) {
    throw new NotFoundError(`no repository matches ${pattern}`, {
      value: pattern,
      fix: "list them with `ecrctl repos`, or use '*' for all",
    });
  }
  session.log.info(`measuring ${names.length} ${names.length === 1 ? 'repository' : 'repositories'}`);
  const measured = [];
  const readManifests = opts.readManifests === true;
  for (const name of names) measured.push({ name, images: await repositoryLayers(conn, name, { readManifests }) });
  if (!readManifests) {
    session.log.info(
      'sizes from DescribeImages, each image counted in full (layers shared between images are not seen); ' +
        '--read-manifests counts each layer once, but ECR records reading a manifest as a pull',
    );
  }
  return { ...measureRepositoryStorage(measured), layersRead: readManifests };
}

/** What estimateCost accepts: monthly amounts in GB (1 TB = 1,000 GB). */
export interface EstimateCostOptions extends Omit<CostInput, 'region'> {
  /** The region of the repositories (default: the session's region, else AWS_REGION, else us-east-1). */
  region?: string;
  /** Storage measured by measureStorage: used instead of storageGb and returned with the estimate. */
  storage?: StorageMeasure;
  /** The rate table (default: the built-in one; see loadPricingRates). */
  rates?: PricingRates;
}

/** The estimate, line by line, with the measured storage when it was given. */
export type EstimateCostResult = CostEstimate & { storage?: StorageMeasure };

/**
 * Estimates the monthly ECR bill for storage and data transfer. UsageError when no amount is
 * given, or withAccount without public. Logs the estimate's warnings (e.g. a region missing
 * from the rate table).
 */
export async function estimateCost(session: Session, opts: EstimateCostOptions): Promise<EstimateCostResult> {
  const amounts = {
    storageGb: opts.storage ? opts.storage.storageGb : opts.storageGb,
    egressGb: opts.egressGb,
    egressRegionGb: opts.egressRegionGb,
    sameRegionGb: opts.sameRegionGb,
  };
  if (Object.values(amounts).every((v) => v === undefined)) {
    throw new UsageError('nothing to estimate: give at least one amount', {
      fix: 'pass --storage-gb, --egress-gb, --egress-region-gb or --same-region-gb, e.g. ecrctl cost --storage-gb 50 --egress-gb 200',
    });
  }
  if (opts.withAccount && !opts.public) {
    throw new UsageError('--with-account applies to public repositories', {
      fix: 'add --public, or drop --with-account for private repositories',
    });
  }
  const estimate = priceScenario(
    {
      region: opts.region ?? session.aws.region ?? session.env.AWS_REGION ?? 'us-east-1',
      ...amounts,
      public: opts.public === true,
      withAccount: opts.withAccount === true,
      freeTier: opts.freeTier === true,
    },
    opts.rates ?? DEFAULT_PRICING_RATES,
  );
  for (const w of estimate.warnings) session.log.warn(w);
  return opts.storage ? { ...estimate, storage: opts.storage } : estimate;
}
