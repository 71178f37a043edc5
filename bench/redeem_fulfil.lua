-- The redeem_fulfil scenario: scenarios.lua plus reading each new voucher's code, so the next
-- request of the thread fulfils it. Kept apart because a script with a response() hook makes wrk
-- parse every body, which would slow the other scenarios down.
dofile("bench/scenarios.lua")

function response(status, headers, body)
  if status == 201 then
    local code = body:match('"code":"(%w+)"')
    if code then table.insert(codes, code) end
  end
end
