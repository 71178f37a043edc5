-- wrk scenarios for `make bench`: `wrk ... -s bench/scenarios.lua -- <scenario>`.
-- Environment: BENCH_KEY (a staff key of tenant bench-1), BENCH_REWARD (a reward id of it),
-- BENCH_ETAG (tenant-meta's ETag for host bench-1.example), BENCH_ADMIN_KEY (a tenant admin key
-- of it), BENCH_YEAR_FROM and BENCH_YEAR_TO (the 366 days the seeded ledger spreads over),
-- BENCH_MONTH_FROM (30 days before BENCH_YEAR_TO).
-- Prints one line at the end: RESULT <requests> <req/s> <p50 ms> <p99 ms> <errors>, where errors
-- are socket errors, time-outs and every answer of 400 or above.

local scenario
local key = os.getenv("BENCH_KEY") or ""
local reward = os.getenv("BENCH_REWARD") or ""
local etag = os.getenv("BENCH_ETAG") or ""
local admin_key = os.getenv("BENCH_ADMIN_KEY") or ""
-- A year's report reads all 800,000 entries of bench-1, the most a report reads; a month's, the
-- last 30 days' (about 66,000).
local year = "from=" .. (os.getenv("BENCH_YEAR_FROM") or "") .. "&to=" .. (os.getenv("BENCH_YEAR_TO") or "")
local month = "from=" .. (os.getenv("BENCH_MONTH_FROM") or "") .. "&to=" .. (os.getenv("BENCH_YEAR_TO") or "")
local top_by = { "visits", "spend", "points" }

local function report(path, range)
  return wrk.format("GET", "/api/v1/reports/" .. path .. range, { ["Authorization"] = "Bearer " .. admin_key })
end

local function top(range)
  return report("top-customers?limit=100&by=" .. top_by[math.random(1, 3)] .. "&", range)
end
local hosts = { "bench-1.example", "bench-2.example", "bench-3.example", "localhost" }
local threads = {}
local counter = 0
local prefix
-- Voucher codes waiting to be fulfilled, per thread (redeem_fulfil, see redeem_fulfil.lua).
codes = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  scenario = args[1]
  -- A seed per thread, so threads draw different customers and keys.
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  prefix = string.format("%08x", math.random(0, 0x7fffffff))
end

local function customer(n)
  return string.format("00000000-0000-7000-8000-%012x", n)
end

local function auth(extra)
  local headers = { ["Authorization"] = "Bearer " .. key }
  for name, value in pairs(extra or {}) do headers[name] = value end
  return headers
end

local function change(path, body)
  counter = counter + 1
  return wrk.format("POST", path, auth({
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. "-" .. counter,
  }), body)
end

local function purchase(spread)
  local id = customer(math.random(1, spread))
  return change("/api/v1/customers/" .. id .. "/purchases", '{"amount_minor":1250,"currency":"EUR"}')
end

local function customer_get()
  return wrk.format("GET", "/api/v1/customers/" .. customer(math.random(1, 80000)), auth())
end

-- Counter searches as staff type them: a first name's beginning, a surname (accents as typed or
-- not), both, a phone's last four digits, an email's beginning.
local name_queries = { "an", "zo%C3%AB", "zoe", "m%C3%BCl", "muller", "schm", "felix", "hanna%20k",
  "ben%20schmidt", "bj%C3%B6rn", "we", "dubois" }

local function search()
  local kind = math.random(1, 3)
  local q
  if kind == 1 then
    q = name_queries[math.random(1, #name_queries)]
  elseif kind == 2 then
    q = string.format("%04d", math.random(0, 9999))
  else
    q = "c" .. math.random(1, 80000)
  end
  return wrk.format("GET", "/api/v1/customers?limit=20&q=" .. q, auth())
end

local requests = {
  health_live = function() return wrk.format("GET", "/health/live") end,
  tenant_meta = function()
    return wrk.format("GET", "/api/public/tenant-meta", { ["Host"] = hosts[math.random(1, #hosts)] })
  end,
  tenant_meta_304 = function()
    return wrk.format("GET", "/api/public/tenant-meta",
      { ["Host"] = "bench-1.example", ["If-None-Match"] = etag })
  end,
  customer_get = customer_get,
  search = search,
  report_summary = function() return report("summary?", year) end,
  report_daily = function() return report("daily?", year) end,
  report_top = function() return top(year) end,
  report_summary_month = function() return report("summary?", month) end,
  report_daily_month = function() return report("daily?", month) end,
  report_top_month = function() return top(month) end,
  visit = function()
    return change("/api/v1/customers/" .. customer(math.random(1, 10000)) .. "/visits", "{}")
  end,
  purchase = function() return purchase(10000) end,
  purchase_hot = function() return purchase(10) end,
  redeem_fulfil = function()
    local code = table.remove(codes)
    if code then
      return change("/api/v1/redemptions/fulfill", '{"code":"' .. code .. '"}')
    end
    return change("/api/v1/customers/" .. customer(math.random(1, 10000)) .. "/redemptions",
      '{"reward_id":"' .. reward .. '"}')
  end,
  mixed = function()
    if math.random() < 0.7 then return customer_get() end
    return purchase(10000)
  end,
}

function request()
  return requests[scenario]()
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %.0f %.2f %.2f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors))
end
