// Registry-wide operations: GetAuthorizationToken (and with it the data plane's address)
// and DescribeRegistry.
import { ApiError } from '../errors.js';
import { principalArnOf } from '../images.js';
import { REGISTRY_ID } from '../rules.js';
import { mintPassword } from '../tokens.js';
import { list, type OperationTable, privateRegistry, ts } from './kit.js';

export const registryOperations: OperationTable = {
  async GetAuthorizationToken(req) {
    const ids = list<string>(req.input, 'registryIds', { min: 1, max: 10 }) ?? [req.ctx.account];
    const exp = req.ctx.now() + req.ctx.tokenTtlMs;
    const authorizationData = [];
    for (const id of ids) {
      if (typeof id !== 'string' || !REGISTRY_ID.test(id)) {
        throw new ApiError(
          'InvalidParameterException',
          `Invalid parameter at 'registryIds' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{12}''`,
        );
      }
      const registry = req.ctx.store.registry('private', id, req.region);
      // The password carries the caller's principal: the data plane acts as that identity.
      const password = mintPassword(req.ctx.store.secret, {
        kind: 'private',
        account: id,
        region: req.region,
        exp,
        principal: principalArnOf(req.ctx.account, req.accessKeyId),
      });
      authorizationData.push({
        authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
        expiresAt: ts(exp),
        proxyEndpoint: await req.ctx.registryEndpoint(registry),
      });
    }
    return { authorizationData };
  },

  async DescribeRegistry(req) {
    const registry = privateRegistry(req);
    const replication = registry.settings?.replicationConfiguration as { rules?: unknown[] } | undefined;
    return { registryId: registry.account, replicationConfiguration: { rules: replication?.rules ?? [] } };
  },
};
