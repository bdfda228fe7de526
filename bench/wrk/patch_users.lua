-- PATCH /Users/seed-<k> for a random seeded user k: one attribute replaced, as Entra ID
-- sends a profile change. The bridge reads the user, applies the operation and writes the
-- whole user back (the same transaction as a PUT: bench/pgbench/put.sql).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local n = 0
wrk.headers["Content-Type"] = "application/scim+json"
function request()
  n = n + 1
  local k = math.random(1, USERS)
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' ..
    '{"op":"replace","path":"displayName","value":"Seed User ' .. k .. ' (' .. tid .. '-' .. n .. ')"}]}'
  return wrk.format("PATCH", BASE .. "/Users/seed-" .. k, nil, body)
end
