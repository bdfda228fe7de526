-- GET /Users/seed-<k> for a random seeded user k: a single resource by id, as Okta reads a
-- user before a PUT.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
function init(args) math.randomseed(os.time() * 1000 + tid) end
function request()
  return wrk.format("GET", BASE .. "/Users/seed-" .. math.random(1, users))
end
