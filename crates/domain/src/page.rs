//! Keyset pagination: `limit` plus an opaque cursor naming the last item seen.

use data_encoding::BASE64URL_NOPAD;

use crate::validation::could_be_stored;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Which page to read: at most `limit` items after the item `after` (in the list's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    Limit,
    #[error("the cursor is not one this API returned")]
    Cursor,
}

impl PageRequest {
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, PageError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(PageError::Limit);
        }
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(Self { limit, after })
    }

    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// Stores ask for one item more than the limit, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// A record that lists page by: its sort key, which the next page's cursor carries.
pub trait Keyed {
    fn sort_key(&self) -> &str;
}

/// One page of items and the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items; `key` gives an item's sort key.
    pub fn from_fetched(
        mut fetched: Vec<T>,
        request: &PageRequest,
        key: impl Fn(&T) -> &str,
    ) -> Self {
        let limit = request.limit as usize;
        let next_cursor = if fetched.len() > limit {
            fetched.truncate(limit);
            fetched.last().map(|last| encode_cursor(key(last)))
        } else {
            None
        };
        Self {
            items: fetched,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

pub(crate) fn encode_cursor(key: &str) -> String {
    BASE64URL_NOPAD.encode(key.as_bytes())
}

fn decode_cursor(cursor: &str) -> Result<String, PageError> {
    let bytes = BASE64URL_NOPAD
        .decode(cursor.as_bytes())
        .map_err(|_| PageError::Cursor)?;
    String::from_utf8(bytes)
        .ok()
        .filter(|key| could_be_stored(key))
        .ok_or(PageError::Cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_pages_stop() {
        let request = PageRequest::first(2);
        let page = Page::from_fetched(vec!["a", "b", "c"], &request, |s| s);
        assert_eq!(page.items, ["a", "b"]);
        let next = PageRequest::new(Some(2), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        let last = Page::from_fetched(vec!["c"], &next, |s| s);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn rejects_bad_limits_and_cursors() {
        assert_eq!(PageRequest::new(Some(0), None), Err(PageError::Limit));
        assert_eq!(PageRequest::new(Some(201), None), Err(PageError::Limit));
        assert_eq!(PageRequest::new(None, Some("***")), Err(PageError::Cursor));
        assert_eq!(
            PageRequest::new(None, Some("AA")),
            Err(PageError::Cursor),
            "a NUL key"
        );
        assert_eq!(PageRequest::new(None, None).unwrap().limit, DEFAULT_LIMIT);
    }
}
