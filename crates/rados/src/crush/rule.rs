//! Rules: the step programs that turn an input `x` into a list of devices.

/// A rule step's opcode (`CRUSH_RULE_*`), with its arguments where the
/// step has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOp {
    /// 0: do nothing.
    Noop,
    /// 1: start from item `arg1` (a bucket, or a device).
    Take,
    /// 2: choose `arg1` distinct items of type `arg2`, depth first.
    ChooseFirstN,
    /// 3: choose `arg1` items of type `arg2`, each position on its own
    /// (stable positions, for erasure codes).
    ChooseIndep,
    /// 4: append the working set to the result.
    Emit,
    /// 6: like [`ChooseFirstN`](Self::ChooseFirstN), then one device below
    /// each chosen item.
    ChooseLeafFirstN,
    /// 7: like [`ChooseIndep`](Self::ChooseIndep), then one device below
    /// each chosen item.
    ChooseLeafIndep,
    /// 8: override the total number of tries.
    SetChooseTries,
    /// 9: override the tries of the leaf descent of chooseleaf.
    SetChooseLeafTries,
    /// 10: override `choose_local_tries`.
    SetChooseLocalTries,
    /// 11: override `choose_local_fallback_tries`.
    SetChooseLocalFallbackTries,
    /// 12: override `chooseleaf_vary_r`.
    SetChooseLeafVaryR,
    /// 13: override `chooseleaf_stable`.
    SetChooseLeafStable,
    /// 14: override `msr_descents` (MSR rules).
    SetMsrDescents,
    /// 15: override `msr_collision_tries` (MSR rules).
    SetMsrCollisionTries,
    /// 16: choose `arg1` items of type `arg2` in an MSR rule.
    ChooseMsr,
    /// Any other opcode: ignored by the mapper, kept for re-encoding.
    Unknown(u32),
}

impl StepOp {
    /// The opcode for wire number `n`.
    pub fn from_number(n: u32) -> Self {
        match n {
            0 => Self::Noop,
            1 => Self::Take,
            2 => Self::ChooseFirstN,
            3 => Self::ChooseIndep,
            4 => Self::Emit,
            6 => Self::ChooseLeafFirstN,
            7 => Self::ChooseLeafIndep,
            8 => Self::SetChooseTries,
            9 => Self::SetChooseLeafTries,
            10 => Self::SetChooseLocalTries,
            11 => Self::SetChooseLocalFallbackTries,
            12 => Self::SetChooseLeafVaryR,
            13 => Self::SetChooseLeafStable,
            14 => Self::SetMsrDescents,
            15 => Self::SetMsrCollisionTries,
            16 => Self::ChooseMsr,
            other => Self::Unknown(other),
        }
    }

    /// The wire number of this opcode.
    pub fn number(self) -> u32 {
        match self {
            Self::Noop => 0,
            Self::Take => 1,
            Self::ChooseFirstN => 2,
            Self::ChooseIndep => 3,
            Self::Emit => 4,
            Self::ChooseLeafFirstN => 6,
            Self::ChooseLeafIndep => 7,
            Self::SetChooseTries => 8,
            Self::SetChooseLeafTries => 9,
            Self::SetChooseLocalTries => 10,
            Self::SetChooseLocalFallbackTries => 11,
            Self::SetChooseLeafVaryR => 12,
            Self::SetChooseLeafStable => 13,
            Self::SetMsrDescents => 14,
            Self::SetMsrCollisionTries => 15,
            Self::ChooseMsr => 16,
            Self::Unknown(n) => n,
        }
    }
}

/// One step of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleStep {
    /// What the step does.
    pub op: StepOp,
    /// First argument (item, count or tunable value).
    pub arg1: i32,
    /// Second argument (bucket type for choose steps).
    pub arg2: i32,
}

/// Rule type numbers (`CRUSH_RULE_TYPE_*`, `pg_pool_t` types).
pub mod rule_type {
    /// Replicated pools.
    pub const REPLICATED: u8 = 1;
    /// Erasure-coded pools.
    pub const ERASURE: u8 = 3;
    /// MSR rule, first-n ordering (Squid and later).
    pub const MSR_FIRSTN: u8 = 4;
    /// MSR rule, independent positions (Squid and later).
    pub const MSR_INDEP: u8 = 5;
}

/// A rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The legacy ruleset id (equal to the rule id in maps since Luminous).
    pub ruleset: u8,
    /// The rule type (see [`rule_type`]).
    pub rule_type: u8,
    /// Legacy smallest pool size the rule is meant for.
    pub min_size: u8,
    /// Legacy largest pool size the rule is meant for.
    pub max_size: u8,
    /// The steps.
    pub steps: Vec<RuleStep>,
}

impl Rule {
    /// Whether this is an MSR rule (its type, not its steps, says so).
    pub fn is_msr(&self) -> bool {
        matches!(self.rule_type, rule_type::MSR_FIRSTN | rule_type::MSR_INDEP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_numbers_round_trip() {
        for n in 0..20 {
            assert_eq!(StepOp::from_number(n).number(), n);
        }
        assert_eq!(StepOp::from_number(5), StepOp::Unknown(5));
    }
}
