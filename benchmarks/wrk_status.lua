-- Counts answers by status across wrk's threads and prints them with the error counts.
-- BENCH_METHOD / BENCH_BODY / BENCH_HEADERS (name: value;; name: value) set the request.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  wrk.method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  if body and body ~= "" then wrk.body = body end
  local headers = os.getenv("BENCH_HEADERS") or ""
  for pair in string.gmatch(headers, "([^;]+)") do
    local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
    if name then wrk.headers[name] = value end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
  local e = summary.errors
  io.write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("duration_us %d\n", summary.duration))
  io.write(string.format("p50_us %d\np99_us %d\n", latency:percentile(50), latency:percentile(99)))
end
