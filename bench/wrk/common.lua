-- Shared by the bench wrk scripts: auth header, thread numbering.
-- BENCH_BASE: the SCIM base path (default /scim/v2/<BENCH_TARGET>, the bridge's);
-- BENCH_AUTH: a whole Authorization header value (default "Bearer <BENCH_TOKEN>").
-- bench/compare.sh sets both to point the same scripts at another SCIM server.
local token = os.getenv("BENCH_TOKEN") or "bench"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH") or ("Bearer " .. token)
BASE = os.getenv("BENCH_BASE") or ("/scim/v2/" .. (os.getenv("BENCH_TARGET") or "contrast"))
wrk.headers["Accept"] = "application/scim+json"

local threads = {}
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- The seeded users the scripts pick from (seed<k>, k in 1..USERS) and a random seed of
-- each thread's own.
USERS = tonumber(os.getenv("BENCH_USERS") or "1000")
function init(args) math.randomseed(os.time() * 1000 + tid) end
