-- wrk script: POST /api/notifications as fast as wrk can, one recipient per send, spread over
-- 1,000 users. The service token comes from the environment:
--   SERVICE_TOKEN=$(scripts/mint-token.sh bench notifications:send) wrk -t2 -c64 -d10s --latency -s loadtest/wrk/send.lua http://127.0.0.1:5077
local token = os.getenv("SERVICE_TOKEN") or error("set SERVICE_TOKEN (scripts/mint-token.sh bench notifications:send)")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
local sent = 0

request = function()
  sent = sent + 1
  return wrk.format(nil, "/api/notifications", nil,
    '{"userId":"user-' .. (sent % 1000) .. '","title":"Hello","body":"benchmark"}')
end

-- Every answer must be 201: count anything else.
local failed = 0
response = function(status)
  if status ~= 201 then failed = failed + 1 end
end
