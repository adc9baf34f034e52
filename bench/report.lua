-- wrk script of bench/run.py: counts statuses per thread and prints one JSON line at the end.
--
--   wrk -t2 -c8 -d10s --timeout 30s -s bench/report.lua -H "Cookie: session=..." URL
--
-- Output (last line of stdout): BENCH_JSON {"requests":..,"duration_s":..,"rps":..,
-- "p50_ms":..,"p95_ms":..,"p99_ms":..,"mean_ms":..,"max_ms":..,"status_2xx":..,
-- "status_3xx":..,"status_4xx":..,"status_5xx":..,"socket_errors":..,"timeouts":..}
-- Optional environment: BENCH_METHOD (default GET), BENCH_BODY, BENCH_CONTENT_TYPE.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   s2, s3, s4, s5 = 0, 0, 0, 0
   local method = os.getenv("BENCH_METHOD")
   if method and method ~= "" then
      wrk.method = method
      wrk.body = os.getenv("BENCH_BODY") or ""
      wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/x-www-form-urlencoded"
   end
end

function response(status, headers, body)
   if status < 300 then s2 = s2 + 1
   elseif status < 400 then s3 = s3 + 1
   elseif status < 500 then s4 = s4 + 1
   else s5 = s5 + 1 end
end

function done(summary, latency, requests)
   local c2, c3, c4, c5 = 0, 0, 0, 0
   for _, t in ipairs(threads) do
      c2 = c2 + (t:get("s2") or 0)
      c3 = c3 + (t:get("s3") or 0)
      c4 = c4 + (t:get("s4") or 0)
      c5 = c5 + (t:get("s5") or 0)
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   local function ms(us) return us / 1000.0 end
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.3f,"p50_ms":%.3f,"p95_ms":%.3f,' ..
      '"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,"status_2xx":%d,"status_3xx":%d,' ..
      '"status_4xx":%d,"status_5xx":%d,"socket_errors":%d,"timeouts":%d}\n',
      summary.requests, secs, summary.requests / secs,
      ms(latency:percentile(50)), ms(latency:percentile(95)), ms(latency:percentile(99)),
      ms(latency.mean), ms(latency.max), c2, c3, c4, c5,
      e.connect + e.read + e.write, e.timeout))
end
