//! Endpoints and topic names. Every name is a default a user can override; tests prefix them to get
//! fresh topics per test.

/// Where the services are.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Kafka bootstrap servers, `host:port[,host:port]`.
    pub kafka_brokers: String,
    /// Schema Registry base URL.
    pub schema_registry_url: String,
    /// ClickHouse HTTP URL.
    pub clickhouse_url: String,
    /// ClickHouse database.
    pub clickhouse_database: String,
}

/// The topics of the pipeline (DESIGN §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub crawl_high: String,
    pub crawl_normal: String,
    pub crawl_low: String,
    pub raw_pages: String,
    pub raw_api: String,
    pub products: String,
    pub prices: String,
    pub ranks: String,
    pub fetches: String,
    /// Seller-side API events: orders (with their lines), reviews, customer inquiries, settlements.
    pub orders: String,
    pub reviews: String,
    pub inquiries: String,
    pub settlements: String,
    /// Pages of tracked targets' rank crawls (TargetRankObserved).
    pub targets: String,
    /// Tracking targets, compacted: the latest record per target is its state.
    pub tracking: String,
    /// Runs: schedule fires.
    pub runs: String,
    /// One partition; its owner in the scheduler's group is the one active scheduler.
    pub schedule_lease: String,
    /// One partition; its owner among the loaders is the one run watcher.
    pub runs_lease: String,
    pub dlq_extract: String,
    pub dlq_transform: String,
    pub dlq_load: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics::with_prefix("")
    }
}

impl Topics {
    /// All topic names with `prefix` in front (empty for the defaults).
    pub fn with_prefix(prefix: &str) -> Topics {
        let t = |name: &str| format!("{prefix}{name}");
        Topics {
            crawl_high: t("crawl.requests.high"),
            crawl_normal: t("crawl.requests.normal"),
            crawl_low: t("crawl.requests.low"),
            raw_pages: t("raw.pages"),
            raw_api: t("raw.api"),
            products: t("events.products"),
            prices: t("events.prices"),
            ranks: t("events.ranks"),
            fetches: t("events.fetches"),
            orders: t("events.orders"),
            reviews: t("events.reviews"),
            inquiries: t("events.inquiries"),
            settlements: t("events.settlements"),
            targets: t("events.targets"),
            tracking: t("tracking.targets"),
            runs: t("events.runs"),
            schedule_lease: t("schedule.lease"),
            runs_lease: t("runs.lease"),
            dlq_extract: t("dlq.extract"),
            dlq_transform: t("dlq.transform"),
            dlq_load: t("dlq.load"),
        }
    }

    /// The crawl request topic for a priority (`high`, `normal`, `low`).
    pub fn crawl_for(&self, priority: &str) -> Option<&str> {
        match priority {
            "high" => Some(&self.crawl_high),
            "normal" => Some(&self.crawl_normal),
            "low" => Some(&self.crawl_low),
            _ => None,
        }
    }

    pub fn crawl_topics(&self) -> [&str; 3] {
        [&self.crawl_high, &self.crawl_normal, &self.crawl_low]
    }

    pub fn raw_topics(&self) -> [&str; 2] {
        [&self.raw_pages, &self.raw_api]
    }

    /// What the loader consumes.
    pub fn event_topics(&self) -> [&str; 11] {
        [
            &self.products,
            &self.prices,
            &self.ranks,
            &self.fetches,
            &self.targets,
            &self.tracking,
            &self.runs,
            &self.orders,
            &self.reviews,
            &self.inquiries,
            &self.settlements,
        ]
    }

    /// Topics whose records are states keyed by id (the latest per key counts): compacted.
    pub fn compacted_topics(&self) -> [&str; 1] {
        [&self.tracking]
    }

    /// Every topic, for creation.
    pub fn all(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        v.extend(self.crawl_topics());
        v.extend(self.raw_topics());
        v.extend(self.event_topics());
        v.extend([self.dlq_extract.as_str(), self.dlq_transform.as_str(), self.dlq_load.as_str()]);
        v
    }
}
