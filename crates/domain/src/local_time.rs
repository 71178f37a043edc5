//! A tenant's local time: its days start and end at its own midnight, whatever the offset from
//! UTC that day (daylight saving time included). Instants are stored in UTC; a "day" in a rule
//! (points expiring at the end of one) is the tenant's local day.

use chrono::{DateTime, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

/// An IANA time zone, such as `Europe/Berlin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(Tz);

impl Default for TimeZone {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl TimeZone {
    /// An IANA time zone name, exactly as the database names it (`Europe/Berlin`, `UTC`).
    pub fn parse(name: &str) -> Result<Self, String> {
        name.trim()
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| "must be an IANA time zone name, such as Europe/Berlin or UTC".into())
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local date at `at`.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The first instant of local `date`: its midnight, or, where a clock change skips
    /// midnight, the first local time that exists that day.
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_time(NaiveTime::MIN);
        // A gap lasts at most a few hours; step through it a quarter of an hour at a time.
        (0..=24 * 4)
            .map(|quarter| midnight + TimeDelta::minutes(15 * quarter))
            .find_map(|local| self.0.from_local_datetime(&local).earliest())
            .map(|start| start.with_timezone(&Utc))
            .unwrap_or_else(|| {
                // Unreachable for real zones: read midnight at the day's standard offset.
                let offset = self.0.offset_from_utc_date(&date).fix();
                (midnight - TimeDelta::seconds(i64::from(offset.local_minus_utc()))).and_utc()
            })
    }

    /// The zone's offset from UTC, in seconds, at `at`.
    pub fn offset_at(&self, at: DateTime<Utc>) -> i32 {
        self.0
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// The zone's offsets from UTC over `from` until before `until`, as spans in order, each
    /// ending where the next begins and the last at `until`. Offsets change at most once a day
    /// in every zone, so comparing a day apart finds each change, and halving the day finds its
    /// second.
    pub fn offsets_between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<OffsetSpan> {
        let mut spans = Vec::new();
        let mut offset = self.offset_at(from);
        let mut checked = from;
        while checked < until {
            let next = (checked + TimeDelta::days(1)).min(until);
            if self.offset_at(next) != offset {
                // Zones change on a whole second: after `before` and at or before `after`.
                let (mut before, mut after) = (checked.timestamp(), next.timestamp() + 1);
                while after - before > 1 {
                    let middle = before + (after - before) / 2;
                    if self.offset_at(at_second(middle)) == offset {
                        before = middle;
                    } else {
                        after = middle;
                    }
                }
                let change = at_second(after);
                spans.push(OffsetSpan {
                    until: change,
                    offset_seconds: offset,
                });
                offset = self.offset_at(change);
            }
            checked = next;
        }
        spans.push(OffsetSpan {
            until,
            offset_seconds: offset,
        });
        spans
    }

    /// The first instant after local `date`: the start of the next day.
    pub fn end_of(&self, date: NaiveDate) -> DateTime<Utc> {
        match date.succ_opt() {
            Some(next) => self.start_of(next),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }
}

/// The instant `seconds` after the Unix epoch; the latest time there is past the range chrono
/// holds (no zone changes there).
fn at_second(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A stretch of time over which a zone's offset from UTC stays the same: up to (before) `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSpan {
    pub until: DateTime<Utc>,
    pub offset_seconds: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn offsets_change_at_the_clock_changes() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let from = berlin.start_of(date(2026, 3, 1));
        let until = berlin.end_of(date(2026, 12, 31));
        assert_eq!(
            berlin.offsets_between(from, until),
            [
                OffsetSpan {
                    until: utc(2026, 3, 29, 1, 0),
                    offset_seconds: 3600
                },
                OffsetSpan {
                    until: utc(2026, 10, 25, 1, 0),
                    offset_seconds: 7200
                },
                OffsetSpan {
                    until,
                    offset_seconds: 3600
                },
            ]
        );
        let utc_zone = TimeZone::default();
        assert_eq!(utc_zone.offsets_between(from, until).len(), 1);
    }

    #[test]
    fn names_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(TimeZone::default().name(), "UTC");
        for bad in ["", "Berlin", "europe/berlin", "CET+1", "Mars/Olympus"] {
            assert!(TimeZone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn berlins_days_across_the_spring_and_autumn_changes() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 23:30 on Saturday 28 March 2026 in Berlin (CET, +1) is 22:30 UTC.
        assert_eq!(berlin.date_of(utc(2026, 3, 28, 22, 30)), date(2026, 3, 28));
        assert_eq!(berlin.date_of(utc(2026, 3, 28, 23, 30)), date(2026, 3, 29));
        // Sunday 29 March has 23 hours: it starts at +1 and ends at +2.
        assert_eq!(berlin.start_of(date(2026, 3, 29)), utc(2026, 3, 28, 23, 0));
        assert_eq!(berlin.end_of(date(2026, 3, 29)), utc(2026, 3, 29, 22, 0));
        // Sunday 25 October has 25 hours.
        assert_eq!(
            berlin.start_of(date(2026, 10, 25)),
            utc(2026, 10, 24, 22, 0)
        );
        assert_eq!(berlin.end_of(date(2026, 10, 25)), utc(2026, 10, 25, 23, 0));
    }

    #[test]
    fn los_angeles_days_across_the_spring_change() {
        let la = TimeZone::parse("America/Los_Angeles").unwrap();
        // 20:00 on Saturday 7 March 2026 (PST, -8) is already 8 March in UTC.
        assert_eq!(la.date_of(utc(2026, 3, 8, 4, 0)), date(2026, 3, 7));
        assert_eq!(la.end_of(date(2026, 3, 7)), utc(2026, 3, 8, 8, 0));
        // Sunday 8 March ends at midnight PDT (-7).
        assert_eq!(la.end_of(date(2026, 3, 8)), utc(2026, 3, 9, 7, 0));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_clock_resumes() {
        // Santiago moves its clocks forward at midnight: 6 September 2026 starts at 01:00 (-3).
        let santiago = TimeZone::parse("America/Santiago").unwrap();
        assert_eq!(santiago.start_of(date(2026, 9, 6)), utc(2026, 9, 6, 4, 0));
    }
}
