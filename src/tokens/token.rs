//! Token classes (Simple JWT's `tokens.py`): how new tokens are built and which claims an
//! existing one must carry for each use.

use serde_json::Value;

use super::error::TokenError;
use crate::config::{TokenClass, TokenSettings};
use crate::store::User;

pub use super::claims::Claims;

/// Simple JWT's token classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
    Sliding,
    /// What `/api/token/verify/` checks: any type.
    Untyped,
}

impl TokenType {
    /// The `token_type` claim value.
    pub fn name(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
            TokenType::Sliding => "sliding",
            TokenType::Untyped => "untyped",
        }
    }

    pub fn lifetime(self, s: &TokenSettings) -> i64 {
        let d = match self {
            TokenType::Access => s.access_token_lifetime,
            TokenType::Refresh => s.refresh_token_lifetime,
            TokenType::Sliding => s.sliding_token_lifetime,
            TokenType::Untyped => return 0,
        };
        d.as_secs() as i64
    }

    /// Refresh and sliding tokens are recorded as outstanding and can be blacklisted.
    pub fn is_blacklistable(self) -> bool {
        matches!(self, TokenType::Refresh | TokenType::Sliding)
    }
}

impl From<TokenClass> for TokenType {
    fn from(c: TokenClass) -> Self {
        match c {
            TokenClass::Access => TokenType::Access,
            TokenClass::Sliding => TokenType::Sliding,
        }
    }
}

/// A token's claims and the moment it was made or read (Simple JWT's `current_time`).
#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokenType,
    pub payload: Claims,
    pub current_time: i64,
}

impl Token {
    /// A new token of `kind`: type, `exp`, `iat` and `jti` claims, in Simple JWT's order.
    pub fn new(kind: TokenType, s: &TokenSettings, now: i64) -> Token {
        let mut token = Token {
            kind,
            payload: Claims::new(),
            current_time: now,
        };
        if let Some(claim) = s.token_type_claim() {
            token.payload.insert(claim.into(), kind.name().into());
        }
        token.set_exp("exp", now, kind.lifetime(s));
        token.set_iat(now);
        token.set_jti(s);
        if kind == TokenType::Sliding {
            token.set_exp(
                &s.sliding_token_refresh_exp_claim,
                now,
                s.sliding_token_refresh_lifetime.as_secs() as i64,
            );
        }
        token
    }

    /// `Token.for_user`: a new token carrying the user's id (always as a string, as Simple
    /// JWT 5.5 writes it) and, with `check_revoke_token`, the password-hash fingerprint.
    pub fn for_user(kind: TokenType, user: &User, s: &TokenSettings, now: i64) -> Token {
        let mut token = Token::new(kind, s, now);
        token
            .payload
            .insert(s.user_id_claim.clone(), user_id_value(user, s).into());
        if s.check_revoke_token {
            token.payload.insert(
                s.revoke_token_claim.clone(),
                password_fingerprint(&user.password).into(),
            );
        }
        token
    }

    /// `RefreshToken.access_token`: an access token expiring relative to this token's
    /// creation time, carrying every claim of this one but the no-copy claims.
    pub fn access_token(&self, s: &TokenSettings) -> Token {
        let mut access = Token::new(TokenType::Access, s, self.current_time);
        let no_copy = [
            "exp",
            "jti",
            "iat",
            s.token_type_claim.as_str(),
            s.jti_claim.as_str(),
        ];
        for (claim, value) in self.payload.iter() {
            if !no_copy.contains(&claim) {
                access.payload.insert(claim.to_owned(), value.clone());
            }
        }
        access
    }

    pub fn set_exp(&mut self, claim: &str, from: i64, lifetime: i64) {
        self.payload.insert(claim.into(), (from + lifetime).into());
    }

    pub fn set_iat(&mut self, at: i64) {
        self.payload.insert("iat".into(), at.into());
    }

    pub fn set_jti(&mut self, s: &TokenSettings) {
        if let Some(claim) = s.jti_claim() {
            self.payload.insert(claim.into(), new_jti().into());
        }
    }

    pub fn get(&self, claim: &str) -> Option<&Value> {
        self.payload.get(claim)
    }

    pub fn jti<'a>(&'a self, s: &TokenSettings) -> Option<&'a str> {
        self.get(s.jti_claim()?)?.as_str()
    }

    /// A timestamp claim in whole seconds.
    pub fn timestamp(&self, claim: &str) -> Option<i64> {
        self.get(claim).and_then(number_as_secs)
    }

    /// Simple JWT's `Token.verify()` — the checks made after decoding: `exp` present and
    /// not passed, the id claim present, the type claim right for this class.
    pub fn verify(&self, s: &TokenSettings, leeway: f64) -> Result<(), TokenError> {
        self.check_exp("exp", leeway)?;
        if let Some(claim) = s.jti_claim()
            && !self.payload.contains_key(claim)
        {
            return Err(TokenError::NoId);
        }
        if let Some(claim) = s.token_type_claim()
            && self.kind != TokenType::Untyped
        {
            match self.payload.get(claim) {
                None => return Err(TokenError::NoType),
                Some(Value::String(t)) if t == self.kind.name() => {}
                Some(_) => return Err(TokenError::WrongType),
            }
        }
        Ok(())
    }

    /// `Token.check_exp`: the claim must exist and lie after now (less the leeway).
    pub fn check_exp(&self, claim: &str, leeway: f64) -> Result<(), TokenError> {
        let value = self
            .payload
            .get(claim)
            .ok_or_else(|| TokenError::NoClaim(claim.to_string()))?;
        let Some(time) = value.as_f64() else {
            return Err(TokenError::Invalid);
        };
        if time <= self.current_time as f64 - leeway {
            return Err(TokenError::ClaimExpired(claim.to_string()));
        }
        Ok(())
    }
}

/// What Simple JWT 5.5 writes as the user id claim: `str(getattr(user, USER_ID_FIELD))`.
pub fn user_id_value(user: &User, s: &TokenSettings) -> String {
    match s.user_id_field {
        crate::config::UserIdField::Id => user.id.to_string(),
        crate::config::UserIdField::Username => user.username.clone(),
    }
}

/// Simple JWT's `get_md5_hash_password`: upper-case hex MD5 of the stored password hash.
/// Changing the password changes it, which revokes tokens under `check_revoke_token`.
pub fn password_fingerprint(password_hash: &str) -> String {
    use md5::Digest;
    hex::encode_upper(md5::Md5::digest(password_hash.as_bytes()))
}

/// A jti as Simple JWT's `uuid4().hex` looks — 32 lowercase hex digits, unique, opaque to
/// whoever checks the token — but a version 7 UUID: 48 bits of issue time in milliseconds,
/// then 74 random bits (RFC 9562). The store keys tokens and sessions by these 16 bytes, so
/// keys arrive in issue order: a new token's key goes beside the last one's in every index
/// rather than on a random page of a table that no longer fits in memory, and the expired
/// tokens the flush removes are the oldest keys, runs of neighbouring pages. The time it
/// shows is the token's own `iat`, already in the token.
pub fn new_jti() -> String {
    time_ordered_uuid().simple().to_string()
}

/// A version 7 UUID from the clock and [`random_bytes`].
fn time_ordered_uuid() -> uuid::Uuid {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let random = random_bytes();
    let tail: &[u8; 10] = random[..10].try_into().expect("10 bytes");
    uuid::Builder::from_unix_timestamp_millis(millis, tail).into_uuid()
}

/// A random (version 4) UUID, as Python's `uuid4()`.
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(random_bytes()).into_uuid()
}

/// 16 random bytes from aws-lc's generator: `Uuid::new_v4` asks the kernel for every one (a
/// system call per token issued). The generator's bytes are drawn 32 UUIDs' worth at a time:
/// each call has a fixed cost whatever its length, more than the rest of making a token's
/// claims.
fn random_bytes() -> [u8; 16] {
    const BATCH: usize = 32 * 16;
    thread_local! {
        static POOL: std::cell::RefCell<([u8; BATCH], usize)> = const { std::cell::RefCell::new(([0; BATCH], BATCH)) };
    }
    POOL.with_borrow_mut(|(pool, used)| {
        if *used == BATCH {
            aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), pool)
                .expect("the system RNG works");
            *used = 0;
        }
        let bytes: [u8; 16] = pool[*used..*used + 16].try_into().expect("16 bytes");
        *used += 16;
        bytes
    })
}

/// Python truthiness of a claim value (`if user_id and …`).
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Numeric claim values as PyJWT reads them: integers, or floats truncated.
pub fn number_as_secs(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64)),
        _ => None,
    }
}

/// Python's `int()` of a claim value, as PyJWT 2 reads `exp`, `iat` and `nbf`: numbers
/// (floats truncated), booleans, and strings of decimal digits with white space around, an
/// optional sign and single `_` between digits (`"1796451329"`). Values beyond an i64 are
/// clamped: they compare with the clock as Python's big integers do.
pub fn python_int(v: &Value) -> Option<i64> {
    let text = match v {
        Value::Bool(b) => return Some(i64::from(*b)),
        Value::String(s) => s.trim(),
        other => return number_as_secs(other),
    };
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let bytes = digits.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && bytes[0] != b'_'
        && bytes[bytes.len() - 1] != b'_'
        && !digits.contains("__");
    if !well_formed {
        return None;
    }
    let mut n: i64 = 0;
    for d in bytes.iter().filter(|b| b.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        n = n.saturating_mul(10).saturating_add(if negative { -d } else { d });
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_as_python_int_reads_them() {
        use serde_json::json;
        for (value, read) in [
            (json!(1796451329), Some(1796451329)),
            (json!(1796451329.9), Some(1796451329)),
            (json!("1796451329"), Some(1796451329)),
            (json!(" +17_96 \n"), Some(1796)),
            (json!("-5"), Some(-5)),
            (json!(true), Some(1)),
            (json!("99999999999999999999999"), Some(i64::MAX)),
            (json!("1.5"), None),
            (json!("1__0"), None),
            (json!("_1"), None),
            (json!(""), None),
            (json!("0x10"), None),
            (json!(null), None),
            (json!([1]), None),
        ] {
            assert_eq!(python_int(&value), read, "{value}");
        }
    }

    #[test]
    fn jtis_look_like_uuid4_hex_and_are_version_7_uuids_in_issue_order() {
        let (a, b) = (new_jti(), new_jti());
        assert_ne!(a, b);
        // Across several refills of the batch, none repeats.
        let many: std::collections::HashSet<String> = (0..100).map(|_| new_jti()).collect();
        assert_eq!(many.len(), 100);
        for jti in [&a, &b] {
            assert_eq!(jti.len(), 32, "{jti}");
            assert!(
                jti.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            let uuid = uuid::Uuid::parse_str(jti).unwrap();
            assert_eq!(uuid.get_version_num(), 7);
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
        }
        // The first 48 bits are the issue time: a jti made a few milliseconds later sorts
        // after, whatever its random bits.
        let millis = |jti: &str| u64::from_str_radix(&jti[..12], 16).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(millis(&a).abs_diff(now) < 5_000, "{a} is not from now ({now})");
        std::thread::sleep(std::time::Duration::from_millis(3));
        let later = new_jti();
        assert!(later > b, "{later} sorts before {b}");
        // 74 random bits: the tails of jtis made in the same millisecond differ.
        assert_ne!(a[13..], b[13..]);
    }

    fn user() -> User {
        User {
            id: 7,
            username: "alice".into(),
            password: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            last_login: None,
            date_joined: time::OffsetDateTime::UNIX_EPOCH,
            replaced_at: None,
        }
    }

    #[test]
    fn new_refresh_token_has_simple_jwt_claims_in_order() {
        let s = TokenSettings::default();
        let t = Token::for_user(TokenType::Refresh, &user(), &s, 1000);
        let keys: Vec<_> = t.payload.keys().collect();
        assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id"]);
        assert_eq!(t.payload["exp"], 1000 + 86_400);
        assert_eq!(t.payload["user_id"], "7");
        assert_eq!(t.jti(&s).unwrap().len(), 32);
    }

    #[test]
    fn access_token_copies_all_but_no_copy_claims() {
        let s = TokenSettings::default();
        let mut r = Token::for_user(TokenType::Refresh, &user(), &s, 1000);
        r.payload.insert("custom".into(), "x".into());
        let a = r.access_token(&s);
        assert_eq!(a.payload["token_type"], "access");
        assert_eq!(a.payload["exp"], 1300);
        assert_eq!(a.payload["custom"], "x");
        assert_ne!(a.payload["jti"], r.payload["jti"]);
    }

    #[test]
    fn sliding_tokens_carry_refresh_exp() {
        let s = TokenSettings::default();
        let t = Token::for_user(TokenType::Sliding, &user(), &s, 1000);
        assert_eq!(t.payload["refresh_exp"], 1000 + 86_400);
        assert_eq!(t.payload["exp"], 1300);
    }

    #[test]
    fn verify_reports_simple_jwt_messages() {
        let s = TokenSettings::default();
        let mut t = Token::for_user(TokenType::Access, &user(), &s, 1000);
        assert_eq!(t.verify(&s, 0.0), Ok(()));
        t.kind = TokenType::Refresh;
        assert_eq!(t.verify(&s, 0.0), Err(TokenError::WrongType));
        t.payload.remove("token_type");
        assert_eq!(t.verify(&s, 0.0), Err(TokenError::NoType));
        t.payload.remove("jti");
        assert_eq!(t.verify(&s, 0.0), Err(TokenError::NoId));
        t.payload.remove("exp");
        assert_eq!(t.verify(&s, 0.0), Err(TokenError::NoClaim("exp".into())));
    }

    #[test]
    fn fingerprint_is_upper_hex_md5() {
        assert_eq!(password_fingerprint(""), "D41D8CD98F00B204E9800998ECF8427E");
    }
}
