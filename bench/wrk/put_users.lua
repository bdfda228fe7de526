-- PUT /Users/seed-<k> for a random seeded user k: the whole user replaced, as Okta sends a
-- profile change (after its GET). The userName stays the seeded one; displayName changes.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local n = 0
wrk.headers["Content-Type"] = "application/scim+json"
function request()
  n = n + 1
  local k = math.random(1, USERS)
  local u = "seed" .. k .. "@example.com"
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. u ..
    '","name":{"givenName":"Seed","familyName":"User' .. k .. '"},"displayName":"Seed User ' .. k ..
    ' (' .. tid .. '-' .. n .. ')","emails":[{"value":"' .. u .. '","type":"work","primary":true}],"active":true}'
  return wrk.format("PUT", BASE .. "/Users/seed-" .. k, nil, body)
end
