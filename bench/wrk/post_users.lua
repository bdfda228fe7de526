-- POST /Users with a unique userName per request (run prefix + thread + counter).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local run = os.getenv("BENCH_RUN") or "r"
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/scim+json"
function request()
  n = n + 1
  local u = string.format("%s-%d-%d@example.com", run, tid, n)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. u ..
    '","name":{"givenName":"Bench","familyName":"User' .. n .. '"},"displayName":"Bench User ' .. n ..
    '","emails":[{"value":"' .. u .. '","type":"work","primary":true}],"active":true}'
  return wrk.format("POST", BASE .. "/Users", nil, body)
end
