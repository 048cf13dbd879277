//! The login throttles' counters in Redis (`throttle_url = "redis://…"`): a bucket is a
//! sorted set of entry times (a lock: a string holding its end), each operation one Lua
//! script, so that it runs atomically however many instances share the server, and every key
//! expires by itself.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::throttle::{Counters, Full, LoginState};
use super::{Result, StoreError};

const PREFIX: &str = "jwtd:throttle:";

// KEYS[1] bucket; ARGV now, since, expires, limit, member.
const TAKE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {n, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[3]) / 1000))
return {}
";

// KEYS lock, lock, failures; ARGV since.
const STATE: &str = r"
local latest = 0
for i = 1, 2 do
  local t = tonumber(redis.call('GET', KEYS[i]) or '0')
  if t > latest then latest = t end
end
local n = redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[1], '+inf')
return {latest, n}
";

// KEYS two buckets; ARGV now, since, expires, member.
const FAIL: &str = r"
local counts = {}
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[2])
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[4])
  redis.call('PEXPIREAT', KEYS[i], math.ceil(tonumber(ARGV[3]) / 1000))
  counts[i] = redis.call('ZCARD', KEYS[i])
end
return counts
";

// KEYS lock, failures; ARGV until.
const LOCK: &str = r"
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', math.ceil(tonumber(ARGV[1]) / 1000))
return 1
";

pub struct RedisCounters {
    client: redis::Client,
    timeout: Duration,
    connection: OnceCell<ConnectionManager>,
    scripts: Scripts,
}

struct Scripts {
    take: redis::Script,
    state: redis::Script,
    fail: redis::Script,
    lock: redis::Script,
}

impl RedisCounters {
    /// Checks the URL; the connection is made at the first use, and remade after a failure.
    pub fn new(url: &str, timeout: Duration) -> Result<RedisCounters> {
        let client =
            redis::Client::open(url).map_err(|e| StoreError::Other(format!("bad Redis URL: {e}")))?;
        Ok(RedisCounters {
            client,
            timeout,
            connection: OnceCell::new(),
            scripts: Scripts {
                take: redis::Script::new(TAKE),
                state: redis::Script::new(STATE),
                fail: redis::Script::new(FAIL),
                lock: redis::Script::new(LOCK),
            },
        })
    }

    async fn connection(&self) -> Result<ConnectionManager> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                self.client
                    .get_connection_manager_lazy(config)
                    .map_err(unavailable)
            })
            .await
            .cloned()
    }

    /// Runs a script, bounded by the timeout as database calls are.
    async fn run<T: redis::FromRedisValue>(&self, call: redis::ScriptInvocation<'_>) -> Result<T> {
        let mut connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, call.invoke_async(&mut connection)).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable("Redis did not answer in time".into())),
        }
    }
}

fn key(bucket: &str) -> String {
    format!("{PREFIX}{bucket}")
}

/// Entries of a sorted set must differ; two at the same microsecond are two entries.
fn member(now: i64) -> String {
    format!("{now}-{}", uuid::Uuid::new_v4().simple())
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {e}"))
}

impl Counters for RedisCounters {
    async fn take(
        &self,
        bucket: &str,
        now: i64,
        since: i64,
        expires: i64,
        limit: i64,
    ) -> Result<Option<Full>> {
        let mut call = self.scripts.take.prepare_invoke();
        call.key(key(bucket))
            .arg(now)
            .arg(since)
            .arg(expires)
            .arg(limit)
            .arg(member(now));
        let full: Vec<i64> = self.run(call).await?;
        Ok(match full[..] {
            [count, oldest] => Some(Full { count, oldest }),
            _ => None,
        })
    }

    async fn state(&self, locks: [&str; 2], failures: &str, now: i64, since: i64) -> Result<LoginState> {
        let mut call = self.scripts.state.prepare_invoke();
        call.key(key(locks[0]))
            .key(key(locks[1]))
            .key(key(failures))
            .arg(since);
        let (until, failures): (i64, i64) = self.run(call).await?;
        Ok(LoginState {
            locked_until: (until > now).then_some(until),
            failures,
        })
    }

    async fn fail(&self, buckets: [&str; 2], now: i64, since: i64, expires: i64) -> Result<[i64; 2]> {
        let mut call = self.scripts.fail.prepare_invoke();
        call.key(key(buckets[0]))
            .key(key(buckets[1]))
            .arg(now)
            .arg(since)
            .arg(expires)
            .arg(member(now));
        let (a, b): (i64, i64) = self.run(call).await?;
        Ok([a, b])
    }

    async fn lock(&self, lock: &str, failures: &str, _now: i64, until: i64) -> Result<()> {
        let mut call = self.scripts.lock.prepare_invoke();
        call.key(key(lock)).key(key(failures)).arg(until);
        let _: i64 = self.run(call).await?;
        Ok(())
    }

    async fn clear(&self, bucket: &str) -> Result<()> {
        let mut connection = self.connection().await?;
        let del = redis::cmd("DEL").arg(key(bucket)).to_owned();
        match tokio::time::timeout(self.timeout, del.query_async::<i64>(&mut connection)).await {
            Ok(result) => result.map(drop).map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable("Redis did not answer in time".into())),
        }
    }

    /// Redis expires the keys by itself.
    async fn prune(&self, _now: i64) -> Result<u64> {
        Ok(0)
    }
}
