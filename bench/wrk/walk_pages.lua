-- GET /Users?startIndex=1,101,201,…&count=100: IdP imports walking every page in order, one
-- walk per connection (each starts at 1 and wraps at the end).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local target = os.getenv("BENCH_TARGET") or "contrast"
local walkers = tonumber(os.getenv("BENCH_WALKERS") or "1")
local pos = {}
local turn = 0
function request()
  turn = turn % walkers + 1
  local s = pos[turn] or 1
  if s > USERS then s = 1 end
  pos[turn] = s + 100
  return wrk.format("GET", "/scim/v2/" .. target .. "/Users?startIndex=" .. s .. "&count=100")
end
