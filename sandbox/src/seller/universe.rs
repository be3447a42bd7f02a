//! The order universe of one seller account: deterministic orders over the `days` days before the anchor, each
//! with its status history, from which every marketplace style renders its payloads.

use super::SellerConfig;

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Products per account (each with three variants).
const PRODUCTS: u64 = 40;
/// Distinct buyers per account.
const BUYERS: u64 = 500;

/// Where an order stands; the order of the variants is the order of the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// Placed, not paid yet.
    Pending,
    Paid,
    Cancelled,
    Shipped,
    Delivered,
    Returned,
}

/// A product variant of an account, with its price in every currency the marketplaces use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Product {
    pub product_id: u64,
    pub variant_id: u64,
    /// 0, 1 or 2: the position of the variant in its product.
    pub variant_no: u64,
    pub sku: String,
    pub title: String,
    pub variant: &'static str,
    pub usd_cents: i64,
    pub eur_cents: i64,
    pub krw: i64,
}

impl Product {
    /// "Title - Variant", as Shopify names a line.
    pub fn full_name(&self) -> String {
        format!("{} - {}", self.title, self.variant)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub id: u64,
    pub product: Product,
    pub quantity: u32,
}

/// A buyer of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Buyer {
    pub id: u64,
    pub email: String,
    pub first_name: &'static str,
    pub last_name: &'static str,
    /// A masked Korean name, as Coupang shows orderers ("김*희").
    pub masked_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Review {
    pub id: u64,
    pub created_ms: i64,
    pub product_id: u64,
    pub product_name: String,
    pub rating: u32,
}

/// A seller's answer to a customer inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InquiryComment {
    pub id: u64,
    pub at_ms: i64,
    pub text: String,
}

/// A customer's product inquiry about one line of an order, with the seller's answers made by the anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inquiry {
    pub id: u64,
    pub asked_ms: i64,
    /// The index of the line asked about.
    pub line: usize,
    /// Whether the inquiry is tied to the order (Coupang's `orderIds`); otherwise a product question.
    pub with_order: bool,
    pub text: String,
    /// Empty = unanswered (at the anchor).
    pub comments: Vec<InquiryComment>,
}

/// One order as it stands at the anchor: events after the anchor have not happened (their times are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Order {
    pub id: u64,
    pub account_no: u32,
    /// 1-based serial within the account, in creation order.
    pub number: u64,
    pub created_ms: i64,
    pub buyer: Buyer,
    pub lines: Vec<Line>,
    pub paid_ms: Option<i64>,
    pub cancelled_ms: Option<i64>,
    pub shipped_ms: Option<i64>,
    pub delivered_ms: Option<i64>,
    pub returned_ms: Option<i64>,
    pub status: Status,
    /// Time of the latest event at or before the anchor.
    pub changed_ms: i64,
    /// A stable pseudo-random number of this order, for cosmetic values (tracking numbers, tokens).
    pub salt: u64,
    pub review: Option<Review>,
    pub inquiry: Option<Inquiry>,
}

impl Order {
    pub fn quantity(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
    pub fn usd_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.product.usd_cents * i64::from(l.quantity)).sum()
    }
    pub fn eur_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.product.eur_cents * i64::from(l.quantity)).sum()
    }
    pub fn krw(&self) -> i64 {
        self.lines.iter().map(|l| l.product.krw * i64::from(l.quantity)).sum()
    }
    /// When the money went back: the cancellation or the return.
    pub fn refunded_ms(&self) -> Option<i64> {
        self.returned_ms.or(self.cancelled_ms)
    }
}

/// The orders of one account, sorted by id (= by creation time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Universe {
    pub orders: Vec<Order>,
}

/// SplitMix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A pseudo-random number from the seed and a tuple.
pub(crate) fn draw(seed: u64, parts: &[u64]) -> u64 {
    let mut z = mix(seed ^ 0x5e11_e5ee_d000_0000);
    for &p in parts {
        z = mix(z ^ mix(p));
    }
    z
}

// Labels of the draws, so that different attributes use independent numbers.
const L_COUNT: u64 = 1;
const L_TIME: u64 = 2;
const L_PAY: u64 = 3;
const L_CANCEL: u64 = 4;
const L_RETURN: u64 = 5;
const L_LINES: u64 = 6;
const L_PRODUCT: u64 = 7;
const L_STEP: u64 = 8;
const L_VARIANT: u64 = 9;
const L_QTY: u64 = 10;
const L_BUYER: u64 = 11;
const L_PRICE: u64 = 12;
const L_TITLE: u64 = 13;
const L_REVIEW: u64 = 14;
const L_SALT: u64 = 15;
const L_NAME: u64 = 16;
const L_INQUIRY: u64 = 17;

const ADJECTIVES: [&str; 10] =
    ["Classic", "Organic", "Vintage", "Compact", "Deluxe", "Everyday", "Premium", "Rustic", "Nordic", "Urban"];
const NOUNS: [&str; 12] = [
    "Tea Mug",
    "Notebook",
    "Backpack",
    "Desk Lamp",
    "Water Bottle",
    "Wool Scarf",
    "Phone Case",
    "Candle",
    "Tote Bag",
    "Headphones",
    "Cutting Board",
    "Plant Pot",
];
const VARIANTS: [&str; 3] = ["Red", "Blue", "Black"];
const FIRST_NAMES: [&str; 10] =
    ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Robin", "Jamie", "Avery", "Riley"];
const LAST_NAMES: [&str; 10] =
    ["Smith", "Kim", "Garcia", "Müller", "Rossi", "Nguyen", "Dubois", "Silva", "Novak", "Tanaka"];
const KO_SURNAMES: [&str; 8] = ["김", "이", "박", "최", "정", "강", "조", "윤"];
const KO_GIVEN: [&str; 8] = ["희", "수", "민", "준", "영", "호", "연", "진"];
/// Inquiry questions; `{}` is the product.
const QUESTIONS: [&str; 8] = [
    "{} 언제 발송되나요?",
    "{} 사이즈가 어떻게 되나요?",
    "{} 색상이 사진과 같은가요?",
    "{} 배송지 변경 가능한가요?",
    "{} 재입고 예정이 있나요?",
    "{} 교환 가능한가요?",
    "{} 선물 포장 되나요?",
    "{} 세트 구성이 어떻게 되나요?",
];
const ANSWERS: [&str; 5] = [
    "안녕하세요 고객님, 영업일 기준 1~2일 내 발송됩니다.",
    "안녕하세요 고객님, 상세페이지의 사이즈표를 참고해 주세요.",
    "문의 주셔서 감사합니다. 모니터 환경에 따라 색상이 조금 다를 수 있습니다.",
    "고객님, 발송 전이라 변경해 드렸습니다. 감사합니다.",
    "확인 후 다시 안내드리겠습니다. 감사합니다.",
];
const FOLLOW_UPS: [&str; 3] =
    ["추가 안내드립니다. 오늘 출고되었습니다.", "추가로 궁금하신 점은 문의 남겨 주세요.", "처리 완료되었습니다."];

pub(crate) fn product(seed: u64, account_no: u32, index: u64, variant_no: u64) -> Product {
    let a = u64::from(account_no);
    let t = draw(seed, &[a, L_TITLE, index]);
    let title = format!("{} {}", ADJECTIVES[(t % 10) as usize], NOUNS[((t / 10) % 12) as usize]);
    // One draw gives the price in every currency: USD cents, EUR cents at 0.92, KRW at 1,350 rounded to 100 won.
    let usd_cents = 500 + (draw(seed, &[a, L_PRICE, index, variant_no]) % 19_501) as i64;
    let eur_cents = (usd_cents * 92 + 50) / 100;
    let krw = ((usd_cents * 135 / 10 + 50) / 100 * 100).max(100);
    let product_id = 8_000_000 + a * 1_000 + index;
    Product {
        product_id,
        variant_id: product_id * 10 + variant_no + 1,
        variant_no,
        sku: format!("SS-{account_no:03}-{index:02}-{}", VARIANTS[variant_no as usize].to_ascii_uppercase()),
        title,
        variant: VARIANTS[variant_no as usize],
        usd_cents,
        eur_cents,
        krw,
    }
}

pub(crate) fn buyer(seed: u64, account_no: u32, n: u64) -> Buyer {
    let id = u64::from(account_no) * 10_000 + n;
    let k = draw(seed, &[u64::from(account_no), L_NAME, n]);
    Buyer {
        id,
        email: format!("buyer-{id}@example.test"),
        first_name: FIRST_NAMES[(k % 10) as usize],
        last_name: LAST_NAMES[((k / 10) % 10) as usize],
        masked_name: format!("{}*{}", KO_SURNAMES[((k / 100) % 8) as usize], KO_GIVEN[((k / 800) % 8) as usize]),
    }
}

/// The whole-second end of the history: every generated time is a whole second, so every format round-trips.
pub(crate) fn history_end(anchor_ms: i64) -> i64 {
    anchor_ms.div_euclid(1000) * 1000
}

/// Generates the orders of account `account_no` (1-based) as they stand at `anchor_ms`.
pub(crate) fn generate(cfg: &SellerConfig, anchor_ms: i64, account_no: u32) -> Universe {
    let seed = cfg.seed;
    let a = u64::from(account_no);
    let end = history_end(anchor_ms);
    let days = i64::from(cfg.days);
    let max_per_day = 2 * u64::from(cfg.orders_per_day);
    let mut orders = Vec::new();
    let mut number = 0u64;
    for d in 0..cfg.days {
        let day = u64::from(d);
        let day_start = end - (days - i64::from(d)) * DAY_MS;
        let k = draw(seed, &[a, L_COUNT, day]) % (max_per_day + 1);
        let mut created: Vec<(i64, u64)> =
            (0..k).map(|j| (day_start + (draw(seed, &[a, L_TIME, day, j]) % 86_400) as i64 * 1000, j)).collect();
        created.sort_unstable();
        for (created_ms, j) in created {
            number += 1;
            orders.push(order(cfg, end, account_no, number, day, j, created_ms));
        }
    }
    Universe { orders }
}

fn order(cfg: &SellerConfig, end: i64, account_no: u32, number: u64, day: u64, j: u64, created_ms: i64) -> Order {
    let seed = cfg.seed;
    let a = u64::from(account_no);
    let id = 1_000_000_000 + a * 1_000_000 + number;
    let key = |label: u64| draw(seed, &[a, label, day, j]);

    let n_lines = 1 + key(L_LINES) % 3;
    let base = key(L_PRODUCT) % PRODUCTS;
    // A step of 1..=13 keeps up to three products of one order distinct (2 * 13 < 40).
    let step = 1 + key(L_STEP) % 13;
    let lines = (0..n_lines)
        .map(|i| {
            let index = (base + i * step) % PRODUCTS;
            let variant_no = draw(seed, &[a, L_VARIANT, day, j, i]) % 3;
            Line {
                id: id * 10 + i + 1,
                product: product(seed, account_no, index, variant_no),
                quantity: 1 + (draw(seed, &[a, L_QTY, day, j, i]) % 3) as u32,
            }
        })
        .collect::<Vec<_>>();

    // The full history, then cut at the anchor.
    let paid = created_ms + (key(L_PAY) % 1800) as i64 * 1000;
    let cancelled = key(L_CANCEL) % 100 < 5;
    let returned = !cancelled && key(L_RETURN) % 100 < 3;
    let mut events = vec![(Status::Pending, created_ms), (Status::Paid, paid)];
    if cancelled {
        events.push((Status::Cancelled, created_ms + HOUR_MS));
    } else {
        events.push((Status::Shipped, created_ms + DAY_MS));
        events.push((Status::Delivered, created_ms + 3 * DAY_MS));
        if returned {
            events.push((Status::Returned, created_ms + 5 * DAY_MS));
        }
    }
    let happened: Vec<(Status, i64)> = events.into_iter().filter(|(_, t)| *t <= end).collect();
    let at = |s: Status| happened.iter().find(|(e, _)| *e == s).map(|(_, t)| *t);
    let (status, changed_ms) = happened.last().copied().unwrap_or((Status::Pending, created_ms));
    let delivered_ms = at(Status::Delivered);

    // About one review per three delivered orders, a few hours to three days after the delivery.
    let r = key(L_REVIEW);
    let review = delivered_ms.and_then(|delivered| {
        let created = delivered + (1 + (r / 3) % 72) as i64 * HOUR_MS;
        (r % 3 == 0 && created <= end).then(|| Review {
            id: id - 1_000_000_000,
            created_ms: created,
            product_id: lines[0].product.product_id,
            product_name: lines[0].product.title.clone(),
            rating: [5, 5, 4, 4, 5, 3, 4, 2, 5, 1][((r / 300) % 10) as usize],
        })
    });

    let inquiry = inquiry(|n| draw(seed, &[a, L_INQUIRY, day, j, n]), id, created_ms, end, &lines);

    Order {
        id,
        account_no,
        number,
        created_ms,
        buyer: buyer(seed, account_no, key(L_BUYER) % BUYERS),
        lines,
        paid_ms: at(Status::Paid),
        cancelled_ms: at(Status::Cancelled),
        shipped_ms: at(Status::Shipped),
        delivered_ms,
        returned_ms: at(Status::Returned),
        status,
        changed_ms,
        salt: key(L_SALT),
        review,
        inquiry,
    }
}

/// About one inquiry per two orders, asked within three days of the order; about 60 % are answered within a day
/// (an answer after the anchor has not been made yet), some of those get a follow-up a few hours later.
/// `q(n)` is the n-th draw of this order's inquiry.
fn inquiry(q: impl Fn(u64) -> u64, order_id: u64, created_ms: i64, end: i64, lines: &[Line]) -> Option<Inquiry> {
    if !q(0).is_multiple_of(2) {
        return None;
    }
    let asked_ms = created_ms + (q(1) % (3 * 86_400 + 1)) as i64 * 1000;
    if asked_ms > end {
        return None;
    }
    let id = 2_000_000_000 + (order_id - 1_000_000_000);
    let line = (q(2) % lines.len() as u64) as usize;
    let product = &lines[line].product;
    let mut comments = Vec::new();
    if q(3) % 100 < 60 {
        let answered = asked_ms + (1 + q(4) % 86_399) as i64 * 1000;
        if answered <= end {
            let text = ANSWERS[(q(5) % ANSWERS.len() as u64) as usize].to_string();
            comments.push(InquiryComment { id: id * 10 + 1, at_ms: answered, text });
            let follow_up = answered + (1 + q(6) % 12) as i64 * HOUR_MS;
            if q(7) % 100 < 20 && follow_up <= end {
                let text = FOLLOW_UPS[(q(8) % FOLLOW_UPS.len() as u64) as usize].to_string();
                comments.push(InquiryComment { id: id * 10 + 2, at_ms: follow_up, text });
            }
        }
    }
    let question = QUESTIONS[(q(9) % QUESTIONS.len() as u64) as usize];
    Some(Inquiry {
        id,
        asked_ms,
        line,
        with_order: q(10) % 100 < 80,
        text: question.replace("{}", &format!("{} ({})", product.title, product.variant)),
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SellerConfig {
        SellerConfig::default()
    }

    const ANCHOR: i64 = 1_735_689_600_123; // 2025-01-01T00:00:00.123Z

    #[test]
    fn generation_is_deterministic_and_depends_on_the_seed() {
        let a = generate(&cfg(), ANCHOR, 1);
        assert_eq!(a, generate(&cfg(), ANCHOR, 1));
        assert_ne!(a, generate(&SellerConfig { seed: 8, ..cfg() }, ANCHOR, 1));
        assert_ne!(a.orders[0].id, generate(&cfg(), ANCHOR, 2).orders[0].id);
    }

    #[test]
    fn orders_follow_the_rules_of_the_universe() {
        let u = generate(&cfg(), ANCHOR, 3);
        let end = history_end(ANCHOR);
        // 30 days of 0..=8 orders: about 120 on average.
        assert!((60..=200).contains(&u.orders.len()), "{}", u.orders.len());
        let mut statuses = std::collections::BTreeSet::new();
        for (i, o) in u.orders.iter().enumerate() {
            assert_eq!(o.number, i as u64 + 1);
            assert_eq!(o.id, 1_003_000_000 + o.number);
            assert!(o.created_ms >= end - 30 * DAY_MS && o.created_ms < end);
            assert_eq!(o.created_ms % 1000, 0);
            assert!(o.changed_ms >= o.created_ms && o.changed_ms <= end);
            assert!((1..=3).contains(&o.lines.len()));
            let products: std::collections::BTreeSet<_> = o.lines.iter().map(|l| l.product.product_id).collect();
            assert_eq!(products.len(), o.lines.len(), "distinct products per order");
            for l in &o.lines {
                assert!((1..=3).contains(&l.quantity));
                assert_eq!(l.product.krw % 100, 0);
            }
            if let Some(paid) = o.paid_ms {
                assert!(paid - o.created_ms < 1_800_000);
            }
            if o.status == Status::Returned {
                assert!(o.delivered_ms.is_some() && o.cancelled_ms.is_none());
            }
            statuses.insert(o.status);
        }
        assert!(statuses.contains(&Status::Delivered) && statuses.contains(&Status::Shipped), "{statuses:?}");
        let sorted = u.orders.windows(2).all(|w| w[0].created_ms <= w[1].created_ms && w[0].id < w[1].id);
        assert!(sorted);
        assert!(u.orders.iter().any(|o| o.review.is_some()));
        let inquiries: Vec<&Inquiry> = u.orders.iter().filter_map(|o| o.inquiry.as_ref()).collect();
        let share = inquiries.len() as f64 / u.orders.len() as f64;
        assert!((0.3..=0.7).contains(&share), "{share}");
        let answered = inquiries.iter().filter(|q| !q.comments.is_empty()).count() as f64 / inquiries.len() as f64;
        assert!((0.4..=0.8).contains(&answered), "{answered}");
        for o in &u.orders {
            if let Some(q) = &o.inquiry {
                assert!(q.asked_ms >= o.created_ms && q.asked_ms <= o.created_ms + 3 * DAY_MS && q.asked_ms <= end);
                assert!(q.line < o.lines.len());
                let mut last = q.asked_ms;
                for c in &q.comments {
                    assert!(c.at_ms > last && c.at_ms <= end);
                    last = c.at_ms;
                }
                assert!(q.comments.first().is_none_or(|c| c.at_ms <= q.asked_ms + DAY_MS));
            }
        }
    }

    #[test]
    fn about_60_percent_of_inquiries_are_answered() {
        let (mut asked, mut answered) = (0, 0);
        for no in 1..=30 {
            for q in generate(&cfg(), ANCHOR, no).orders.iter().filter_map(|o| o.inquiry.as_ref()) {
                asked += 1;
                answered += usize::from(!q.comments.is_empty());
            }
        }
        let share = answered as f64 / asked as f64;
        assert!(asked > 1000 && (0.5..=0.65).contains(&share), "{answered} of {asked}");
    }

    #[test]
    fn prices_agree_across_currencies() {
        let p = product(7, 1, 5, 2);
        assert_eq!(p, product(7, 1, 5, 2));
        assert!(p.usd_cents >= 500 && p.eur_cents < p.usd_cents && p.krw > p.usd_cents);
        assert_eq!(p.variant_id, p.product_id * 10 + 3);
    }
}
