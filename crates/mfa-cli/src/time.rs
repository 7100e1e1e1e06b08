//! Reading instants and expiries from the command line.
use mfa_core::UnixTime;

/// Seconds since the Unix epoch, from the system clock.
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An expiry: relative to now, or absolute.
#[derive(Clone, Copy, Debug)]
pub enum Expiry {
    /// Seconds from now.
    In(u64),
    /// Unix seconds.
    At(UnixTime),
}

impl Expiry {
    /// The absolute time.
    pub fn resolve(self, now: UnixTime) -> UnixTime {
        match self {
            Self::In(s) => now + s,
            Self::At(t) => t,
        }
    }
}

/// `+30d`, `+12h`, `+90m`, unix seconds, or RFC 3339.
pub fn parse_expiry(s: &str) -> Result<Expiry, String> {
    if let Some(rel) = s.strip_prefix('+') {
        let (num, unit) = rel.split_at(rel.len().saturating_sub(1));
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?}: expected +<number><d|h|m>, like +30d"))?;
        let mult = match unit {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            _ => return Err(format!("{s:?}: unit must be d, h or m")),
        };
        if n == 0 {
            return Err("the expiry must be in the future".into());
        }
        return n
            .checked_mul(mult)
            .map(Expiry::In)
            .ok_or_else(|| "expiry too far away".to_string());
    }
    parse_instant(s).map(Expiry::At)
}

/// Unix seconds or an RFC 3339 UTC time such as `2026-12-31T23:59:00Z`.
pub fn parse_instant(s: &str) -> Result<UnixTime, String> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    rfc3339(s)
        .ok_or_else(|| format!("{s:?}: expected unix seconds or a time like 2026-12-31T23:59:00Z"))
}

fn rfc3339(s: &str) -> Option<UnixTime> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1234").unwrap(), 1234);
        assert_eq!(parse_instant("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_instant("2005-03-18T01:58:29Z").unwrap(),
            1_111_111_109
        );
        assert_eq!(
            parse_instant("2005-03-18T02:58:29+01:00").unwrap(),
            1_111_111_109
        );
        assert!(parse_instant("2005-13-18T01:58:29Z").is_err());
        assert!(parse_instant("yesterday").is_err());
        assert!(matches!(parse_expiry("+30d"), Ok(Expiry::In(2_592_000))));
        assert!(parse_expiry("+30x").is_err());
    }
}
