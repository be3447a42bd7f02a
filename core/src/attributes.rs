//! Names of the attributes a crawl request carries to its raw record (`attributes` in both schemas):
//! a contract between the producers that set them and the stages that read them.

/// The tracking targets a page of a rank run is for: a JSON array of `{"id", "product", "timezone",
/// "pages"}` (targets with the same query share the page's fetch). `product` is a product id, or
/// `url:<text>` for a product URL containing the text.
pub const TARGETS: &str = "targets";
/// 1-based page of the run.
pub const TARGET_PAGE: &str = "target_page";
/// Pages fetched in the run (the deepest of its targets' depths).
pub const TARGET_PAGES: &str = "target_pages";
/// Items per page.
pub const TARGET_PAGE_SIZE: &str = "target_page_size";
/// The run's scheduled time, epoch milliseconds.
pub const RUN_AT: &str = "run_at";
