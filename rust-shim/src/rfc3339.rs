//! RFC 3339 UTC timestamps: formatting transcript `time` (microseconds) and parsing the
//! plan's `compiledOn`/`notAfter`. Civil-date arithmetic after H. Hinnant's
//! `civil_from_days`/`days_from_civil` (proleptic Gregorian calendar).

const NS_PER_SEC: i128 = 1_000_000_000;

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats nanoseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (microseconds, truncated).
pub fn format_micros(unix_ns: i128) -> String {
    let secs = unix_ns.div_euclid(NS_PER_SEC) as i64;
    let micros = unix_ns.rem_euclid(NS_PER_SEC) / 1000;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.iter().try_fold(0u32, |n, &c| {
        n.checked_mul(10)?.checked_add(u32::from(c - b'0'))
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC only, upper-case `T` and `Z`, seconds
/// 00–59, 1–9 fraction digits) into nanoseconds since the Unix epoch.
pub fn parse(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
        || b.last() != Some(&b'Z')
    {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let fraction = &b[19..b.len() - 1];
    let nanos = match fraction {
        [] => 0,
        [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
            digits(rest)? * 10u32.pow(9 - rest.len() as u32)
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(i128::from(secs) * NS_PER_SEC + i128::from(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings computed independently with Python:
    // datetime.fromtimestamp(s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    const KNOWN: [(i128, &str); 5] = [
        (0, "1970-01-01T00:00:00.000000Z"),
        (951_782_400_000_000_000, "2000-02-29T00:00:00.000000Z"),
        (1_700_000_000_123_456_789, "2023-11-14T22:13:20.123456Z"),
        (4_107_542_399_999_999_000, "2100-02-28T23:59:59.999999Z"),
        (-1_000, "1969-12-31T23:59:59.999999Z"),
    ];

    #[test]
    fn formats_known_instants() {
        for (ns, text) in KNOWN {
            assert_eq!(format_micros(ns), text);
        }
    }

    #[test]
    fn parses_what_it_formats_and_plain_seconds() {
        for (ns, text) in KNOWN {
            assert_eq!(parse(text), Some(ns.div_euclid(1000) * 1000), "{text}");
        }
        assert_eq!(
            parse("2023-11-14T22:13:20Z"),
            Some(1_700_000_000 * NS_PER_SEC)
        );
        assert_eq!(
            parse("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500_000_000)
        );
    }

    #[test]
    fn parse_refuses_non_utc_and_impossible_dates() {
        for bad in [
            "2023-11-14T22:13:20+00:00",
            "2023-11-14t22:13:20z",
            "2023-11-14 22:13:20Z",
            "2023-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T23:59:60Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "+023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
