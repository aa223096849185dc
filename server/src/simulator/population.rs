//! The simulated user base: stable attributes per user, drawn once from the seed.

use rand::seq::IndexedRandom;
use rand::Rng;

use super::random::unit_lognormal;

/// A country with its cities, UTC offset (hours) and share of users.
pub struct Country {
    pub name: &'static str,
    pub cities: &'static [&'static str],
    pub utc_offset_hours: i64,
    pub share: f64,
}

pub const COUNTRIES: &[Country] = &[
    Country {
        name: "Russia",
        cities: &[
            "Moscow",
            "Saint Petersburg",
            "Novosibirsk",
            "Yekaterinburg",
            "Kazan",
        ],
        utc_offset_hours: 3,
        share: 0.60,
    },
    Country {
        name: "Ukraine",
        cities: &["Kyiv", "Kharkiv", "Odesa"],
        utc_offset_hours: 2,
        share: 0.14,
    },
    Country {
        name: "Belarus",
        cities: &["Minsk", "Gomel", "Brest"],
        utc_offset_hours: 3,
        share: 0.11,
    },
    Country {
        name: "Kazakhstan",
        cities: &["Almaty", "Astana"],
        utc_offset_hours: 5,
        share: 0.09,
    },
    Country {
        name: "Finland",
        cities: &["Helsinki", "Espoo"],
        utc_offset_hours: 2,
        share: 0.06,
    },
];

pub const IOS: &str = "iOS";
pub const ANDROID: &str = "Android";

/// One user with the attributes every event of theirs carries.
#[derive(Clone, Debug)]
pub struct User {
    pub id: u32,
    pub gender: u8,
    pub age: u8,
    pub country: usize,
    pub city: String,
    pub os: &'static str,
    pub source: &'static str,
    pub exp_group: u8,
    /// Relative feed activity, mean 1 over users.
    pub activity: f64,
    /// Probability that a view is followed by a like.
    pub ctr: f64,
    /// Relative messaging activity (0 for users who never message).
    pub messaging: f64,
    /// Seconds before the simulator's anchor time when the user joined (growth).
    pub joined_days_before_anchor: f64,
    /// Users this one mostly writes to.
    pub friends: Vec<u32>,
}

impl User {
    pub fn country(&self) -> &'static Country {
        &COUNTRIES[self.country]
    }
}

fn pick_country(rng: &mut impl Rng) -> usize {
    let mut roll: f64 = rng.random();
    for (index, country) in COUNTRIES.iter().enumerate() {
        if roll < country.share {
            return index;
        }
        roll -= country.share;
    }
    0
}

/// `count` users with ids `1..=count`, deterministic for the RNG state.
pub fn build(rng: &mut impl Rng, count: u32, history_days: f64) -> Vec<User> {
    let mut users = Vec::with_capacity(count as usize);
    for id in 1..=count {
        let country = pick_country(rng);
        let city = COUNTRIES[country]
            .cities
            .choose(rng)
            .copied()
            .unwrap_or("Unknown")
            .to_string();
        let age = (14.0 + 12.0 * unit_lognormal(rng, 0.6) * 1.2).clamp(14.0, 80.0) as u8;
        let ctr = (0.2 * unit_lognormal(rng, 0.35)).clamp(0.02, 0.6);
        let messaging = if rng.random_bool(0.45) {
            unit_lognormal(rng, 0.7)
        } else {
            0.0
        };
        // 85% of the users are there from the start; the rest join during the history.
        let joined_days_before_anchor = if rng.random_bool(0.85) {
            f64::INFINITY
        } else {
            rng.random_range(0.0..history_days.max(1.0))
        };
        users.push(User {
            id,
            gender: u8::from(rng.random_bool(0.45)),
            age,
            country,
            city,
            os: if rng.random_bool(0.35) { IOS } else { ANDROID },
            source: if rng.random_bool(0.45) {
                "ads"
            } else {
                "organic"
            },
            exp_group: rng.random_range(0..5),
            activity: unit_lognormal(rng, 0.8),
            ctr,
            messaging,
            joined_days_before_anchor,
            friends: Vec::new(),
        });
    }
    for user in &mut users {
        let friend_count = rng.random_range(3..=8);
        user.friends = (0..friend_count)
            .map(|_| rng.random_range(1..=count))
            .filter(|&friend| friend != user.id)
            .collect();
    }
    users
}

/// Moves every user to one of `count` synthetic cities (`City 00001`, ...),
/// a few large and many small (the `k`th largest holds about `1/sqrt(k)` of
/// the first's users), as a country's long tail of towns looks. The city is
/// a hash of `(seed, id)`, not a draw from the simulator's random stream, so
/// every other attribute and event stays as it is without this; `count = 0`
/// leaves the real cities.
pub fn spread_cities(users: &mut [User], seed: u64, count: u32) {
    if count == 0 {
        return;
    }
    for user in users {
        let unit = (splitmix64(seed ^ u64::from(user.id)) >> 11) as f64 / (1u64 << 53) as f64;
        let index = ((unit * unit) * f64::from(count)) as u32;
        user.city = format!("City {:05}", index.min(count - 1) + 1);
    }
}

/// One step of SplitMix64: a well-mixed 64-bit hash of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
