use std::collections::BTreeMap;
use std::io::Read;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::SandboxError;

/// The archive made by `data/pack.sh`: a tar of the snapshot's HTML pages, `SOURCES.md` and `URL_MAP.tsv`,
/// compressed with `zstd -19 --long=27` (a 128 MiB window, within the decoder's default limit).
static ARCHIVE: &[u8] = include_bytes!("../data/books.tar.zst");

/// Pages in one copy of the shop: the home page, listing pages 2..=50 and 1,000 book pages.
pub const PAGES_PER_SHOP: usize = 1 + 49 + 1000;

/// One page of the snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) body: Bytes,
    /// Strong entity tag, quotes included: a hash of `body`.
    pub(crate) etag: String,
}

/// The unpacked Books to Scrape snapshot, keyed by URL path (`/index.html`, `/catalogue/page-2.html`,
/// `/catalogue/<slug>_<id>/index.html`).
#[derive(Debug)]
pub struct Snapshot {
    pages: BTreeMap<String, Page>,
    sources: String,
    url_map: String,
}

static SNAPSHOT: OnceLock<Result<Snapshot, String>> = OnceLock::new();

/// The embedded snapshot, unpacked on first use (≈28 MB in memory, well under a second).
pub fn try_snapshot() -> Result<&'static Snapshot, SandboxError> {
    SNAPSHOT.get_or_init(|| Snapshot::unpack(ARCHIVE)).as_ref().map_err(|e| SandboxError::Snapshot(e.clone()))
}

/// The embedded snapshot, unpacked on first use.
///
/// # Panics
/// If the archive compiled into the crate is unreadable, which is a build problem that the crate's own tests
/// catch; use [`try_snapshot`] to handle it instead.
pub fn snapshot() -> &'static Snapshot {
    match try_snapshot() {
        Ok(snapshot) => snapshot,
        Err(e) => panic!("{e}"),
    }
}

impl Snapshot {
    fn unpack(archive: &[u8]) -> Result<Snapshot, String> {
        let decoder = zstd::stream::read::Decoder::new(archive).map_err(|e| format!("zstd: {e}"))?;
        let mut tar = tar::Archive::new(decoder);
        let mut pages = BTreeMap::new();
        let mut sources = None;
        let mut url_map = None;
        for entry in tar.entries().map_err(|e| format!("tar: {e}"))? {
            let mut entry = entry.map_err(|e| format!("tar: {e}"))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(|e| format!("tar path: {e}"))?.to_string_lossy().into_owned();
            let mut body = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut body).map_err(|e| format!("tar entry {path}: {e}"))?;
            match path.as_str() {
                "SOURCES.md" => sources = Some(String::from_utf8_lossy(&body).into_owned()),
                "URL_MAP.tsv" => url_map = Some(String::from_utf8_lossy(&body).into_owned()),
                p if p.ends_with(".html") => {
                    let etag = format!("\"{:016x}\"", fnv1a64(&body));
                    pages.insert(format!("/{p}"), Page { body: Bytes::from(body), etag });
                }
                _ => {}
            }
        }
        if pages.len() != PAGES_PER_SHOP {
            return Err(format!("expected {PAGES_PER_SHOP} pages, found {}", pages.len()));
        }
        Ok(Snapshot {
            pages,
            sources: sources.ok_or("SOURCES.md is missing")?,
            url_map: url_map.ok_or("URL_MAP.tsv is missing")?,
        })
    }

    /// Every page as (URL path, body), sorted by path.
    pub fn pages(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.pages.iter().map(|(path, page)| (path.as_str(), page.body.as_ref()))
    }

    /// The page at a URL path of the shop at `/`; the leading `/` is optional and `/` means `/index.html`.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.page(path).map(|page| page.body.as_ref())
    }

    /// The `ETag` the sandbox sends for a page, quotes included.
    pub fn etag(&self, path: &str) -> Option<&str> {
        self.page(path).map(|page| page.etag.as_str())
    }

    /// Number of pages (always [`PAGES_PER_SHOP`]).
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Always false; here because clippy expects `is_empty` next to `len`.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Provenance of the snapshot (`SOURCES.md`): where each file was copied from, and licences.
    pub fn sources(&self) -> &str {
        &self.sources
    }

    /// `URL_MAP.tsv`: each file's original URL, status and fetch time.
    pub fn url_map(&self) -> &str {
        &self.url_map
    }

    pub(crate) fn page(&self, path: &str) -> Option<&Page> {
        let path = path.strip_prefix('/').unwrap_or(path);
        if path.is_empty() {
            return self.pages.get("/index.html");
        }
        self.pages.get(&format!("/{path}"))
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `std`'s hasher, so ETags survive restarts.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_has_every_page_of_the_shop() {
        let s = snapshot();
        assert_eq!(s.len(), PAGES_PER_SHOP);
        let listings = s.pages().filter(|(p, _)| p.starts_with("/catalogue/page-")).count();
        let books = s.pages().filter(|(p, _)| p.ends_with("/index.html") && p.starts_with("/catalogue/")).count();
        assert_eq!((listings, books), (49, 1000));
        assert!(s.get("/catalogue/page-50.html").is_some());
        assert!(s.get("/catalogue/page-51.html").is_none());
        assert!(s.get("/catalogue/category/books_1/index.html").is_none());
        assert!(s.sources().contains("books.toscrape.com"));
        assert_eq!(s.url_map().lines().count(), 1 + PAGES_PER_SHOP + 1, "header, pages, robots.txt");
    }

    #[test]
    fn get_accepts_root_and_paths_without_leading_slash() {
        let s = snapshot();
        let home = s.get("/index.html").expect("home page");
        assert_eq!(s.get("/"), Some(home));
        assert_eq!(s.get(""), Some(home));
        assert_eq!(s.get("index.html"), Some(home));
        assert!(std::str::from_utf8(home).expect("utf-8").contains("All products"));
        let book = s.get("catalogue/a-light-in-the-attic_1000/index.html").expect("book page");
        assert!(std::str::from_utf8(book).expect("utf-8").contains("A Light in the Attic"));
    }

    #[test]
    fn etags_are_distinct_and_stable() {
        let s = snapshot();
        let etags: std::collections::HashSet<_> = s.pages().filter_map(|(p, _)| s.etag(p)).collect();
        assert_eq!(etags.len(), PAGES_PER_SHOP);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_corrupt_archive_is_an_error_not_a_panic() {
        assert!(Snapshot::unpack(b"not zstd").is_err());
    }
}
