//! The journey as a graph for the rules: transitions with the outcomes each covers, and
//! walks that follow only the transitions a rule allows.

use std::collections::VecDeque;

use super::Context;
use crate::syntax::ast::{ELSE, Edge};

/// One transition: the outcomes it covers and the step it leads to.
pub struct Transition<'a> {
    /// The outcomes taking it (for `else`, every outcome not named).
    pub outcomes: Vec<&'a str>,
    /// The index of the step it leads to.
    pub target: usize,
    /// The transition as written.
    pub edge: &'a Edge,
}

/// The transitions of step `index` whose targets exist, in the order written.
pub fn transitions<'a>(cx: &Context<'a>, index: usize) -> Vec<Transition<'a>> {
    let step = &cx.journey.steps[index];
    let named = |o: &str| step.on.iter().any(|e| e.outcome.value == o);
    step.on
        .iter()
        .filter_map(|edge| {
            let target = *cx.steps.get(edge.target.value.as_str())?;
            let outcomes = if edge.outcome.value == ELSE {
                let all = step.kind.value.outcomes();
                all.into_iter()
                    .filter(|o| *o == ELSE || !named(o))
                    .collect()
            } else {
                vec![edge.outcome.value.as_str()]
            };
            Some(Transition {
                outcomes,
                target,
                edge,
            })
        })
        .collect()
}

/// The steps reachable from the start on a path where no credential check has answered
/// `success`, or `None` when the start does not exist.
pub fn unproven(cx: &Context<'_>) -> Option<Walk> {
    let start = start(cx)?;
    let steps = &cx.journey.steps;
    Some(Walk::new(cx, &[start], |i, t| {
        let kind = &steps[i].kind.value;
        !t.outcomes.iter().all(|o| kind.proves(o))
    }))
}

/// A breadth-first walk from `from`, following the transitions `follow` accepts.
pub struct Walk {
    /// Whether each step was reached.
    pub seen: Vec<bool>,
    /// The step each reached step was first reached from, and by which outcome.
    pub parent: Vec<Option<(usize, String)>>,
}

impl Walk {
    /// Walks from `from`; `follow(step, transition)` says whether to take a transition.
    pub fn new(
        cx: &Context<'_>,
        from: &[usize],
        mut follow: impl FnMut(usize, &Transition<'_>) -> bool,
    ) -> Self {
        let n = cx.journey.steps.len();
        let mut seen = vec![false; n];
        let mut parent = vec![None; n];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for &i in from {
            if !std::mem::replace(&mut seen[i], true) {
                queue.push_back(i);
            }
        }
        while let Some(i) = queue.pop_front() {
            for t in transitions(cx, i) {
                if seen[t.target] || !follow(i, &t) {
                    continue;
                }
                seen[t.target] = true;
                parent[t.target] = Some((i, t.edge.outcome.value.clone()));
                queue.push_back(t.target);
            }
        }
        Self { seen, parent }
    }

    /// The path to `to` as text: `` `ask` → `lookup` (not_found) → `save` ``.
    pub fn path_to(&self, cx: &Context<'_>, to: usize) -> String {
        let mut parts = vec![format!("`{}`", cx.journey.steps[to].id.value)];
        let mut at = to;
        let mut guard = 0;
        while let Some((from, outcome)) = &self.parent[at] {
            let name = &cx.journey.steps[*from].id.value;
            parts.push(format!("`{name}` ({outcome})"));
            at = *from;
            guard += 1;
            if guard > self.parent.len() {
                break;
            }
        }
        parts.reverse();
        parts.join(" → ")
    }
}

/// The index of the start step, if it exists.
pub fn start(cx: &Context<'_>) -> Option<usize> {
    cx.steps.get(cx.journey.start.value.as_str()).copied()
}
