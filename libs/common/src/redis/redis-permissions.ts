import type Redis from 'ioredis';
import { leaseKeys } from './lease-semaphore';

/*
 * Whether the Redis user may run what the services run, asked without running it: Redis 7's
 * redis.acl_check_cmd checks a command with its keys and channels against the caller's ACL.
 * The health probe calls this, so a user missing one permission shows as NOT_SERVING naming
 * the command, before (and while) the first lease fails with NOPERM. Redis 6 and servers without
 * the function (some managed offerings) answer "unknown" and the check passes.
 */
const CHECK = `
if type(redis.acl_check_cmd) ~= 'function' then return 'unknown' end
local checks = {
  {'set', KEYS[1], 't', 'NX', 'PX', '1000'}, {'incr', KEYS[2]}, {'get', KEYS[1]},
  {'mget', KEYS[1], KEYS[2]}, {'pexpire', KEYS[1], '1000'}, {'del', KEYS[1]},
  {'publish', ARGV[1], '0'}, {'subscribe', ARGV[1]}, {'unsubscribe', ARGV[1]},
}
for _, c in ipairs(checks) do
  local ok, allowed = pcall(redis.acl_check_cmd, unpack(c))
  if ok and not allowed then return c[1] end
end
return 'ok'
`;

const NAME = 'logsplitAclCheck';

/** Resolves undefined when allowed (or not checkable), else the first denied command's name. */
export async function deniedRedisCommand(redis: Redis): Promise<string | undefined> {
  const fns = redis as unknown as Record<string, unknown>;
  if (typeof fns[NAME] !== 'function') redis.defineCommand(NAME, { lua: CHECK, numberOfKeys: 2 });
  const keys = leaseKeys('health', 0);
  const call = fns[NAME] as (...args: string[]) => Promise<string>;
  const got = await call.call(redis, keys.slot, keys.fence, 'logsplit:released:{health}');
  return got === 'ok' || got === 'unknown' ? undefined : got;
}
