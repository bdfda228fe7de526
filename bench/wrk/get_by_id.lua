-- GET /Users/seed-<k> for a random seeded user k: a single resource by id, as Okta reads a
-- user before a PUT.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
function request()
  return wrk.format("GET", BASE .. "/Users/seed-" .. math.random(1, USERS))
end
