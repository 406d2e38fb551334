// Not shipped (see ../.buildignore): run with `node --test function/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handler } from './index.mjs';

test('says hello', async () => {
  assert.equal((await handler({ name: 'ecr' })).statusCode, 200);
});
