//! A model test: random programs over three variables (assignments, comparisons, `if`,
//! counted loops and blocks that shadow a variable) run on both engines, and the output of
//! each must equal that of an obviously correct evaluator written here: integers in a stack
//! of scopes. What it pins down is resolution (which `a` a use means inside nested blocks and
//! loops), assignment to the right scope, control flow, and number and boolean printing.

use std::collections::HashMap;

use proptest::prelude::*;

use byo_loxlike::{Engine, Lox};

const VARS: [char; 3] = ['a', 'b', 'c'];

#[derive(Clone, Debug)]
enum Stmt {
    /// `v = v + k;`
    Add(char, i64),
    /// `v = w + k;`
    Copy(char, char, i64),
    /// `print v;`
    Print(char),
    /// `print v < w;` or `print v == w;`
    Compare(char, char, bool),
    /// `if (v < w) { ... } else { ... }`
    If(char, char, Vec<Stmt>, Vec<Stmt>),
    /// `for (var i = 0; i < n; i = i + 1) { ... }`
    Repeat(u8, Vec<Stmt>),
    /// `{ var v = k; ... }`: a new `v` that hides the outer one inside the block.
    Block(char, i64, Vec<Stmt>),
}

fn var() -> impl Strategy<Value = char> {
    prop::sample::select(&VARS[..])
}

fn stmt() -> impl Strategy<Value = Stmt> {
    let leaf = prop_oneof![
        (var(), -9i64..=9).prop_map(|(v, k)| Stmt::Add(v, k)),
        (var(), var(), -9i64..=9).prop_map(|(v, w, k)| Stmt::Copy(v, w, k)),
        var().prop_map(Stmt::Print),
        (var(), var(), any::<bool>()).prop_map(|(v, w, less)| Stmt::Compare(v, w, less)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let body = || prop::collection::vec(inner.clone(), 0..4);
        prop_oneof![
            (var(), var(), body(), body()).prop_map(|(v, w, t, e)| Stmt::If(v, w, t, e)),
            (0u8..4, body()).prop_map(|(n, b)| Stmt::Repeat(n, b)),
            (var(), -9i64..=9, body()).prop_map(|(v, k, b)| Stmt::Block(v, k, b)),
        ]
    })
}

fn write(stmts: &[Stmt], out: &mut String) {
    for stmt in stmts {
        match stmt {
            Stmt::Add(v, k) => out.push_str(&format!("{v} = {v} + {k};\n")),
            Stmt::Copy(v, w, k) => out.push_str(&format!("{v} = {w} + {k};\n")),
            Stmt::Print(v) => out.push_str(&format!("print {v};\n")),
            Stmt::Compare(v, w, less) => {
                out.push_str(&format!("print {v} {} {w};\n", if *less { "<" } else { "==" }));
            }
            Stmt::If(v, w, then, otherwise) => {
                out.push_str(&format!("if ({v} < {w}) {{\n"));
                write(then, out);
                out.push_str("} else {\n");
                write(otherwise, out);
                out.push_str("}\n");
            }
            Stmt::Repeat(n, body) => {
                out.push_str(&format!("for (var i = 0; i < {n}; i = i + 1) {{\n"));
                write(body, out);
                out.push_str("}\n");
            }
            Stmt::Block(v, k, body) => {
                out.push_str(&format!("{{\nvar {v} = {k};\n"));
                write(body, out);
                out.push_str("}\n");
            }
        }
    }
}

/// The oracle: scopes innermost last, the globals first.
struct Model {
    scopes: Vec<HashMap<char, i64>>,
    out: String,
}

impl Model {
    fn get(&self, v: char) -> i64 {
        self.scopes.iter().rev().find_map(|scope| scope.get(&v)).copied().unwrap_or(0)
    }

    fn set(&mut self, v: char, value: i64) {
        if let Some(scope) = self.scopes.iter_mut().rev().find(|scope| scope.contains_key(&v)) {
            scope.insert(v, value);
        }
    }

    fn run(&mut self, stmts: &[Stmt]) {
        for stmt in stmts {
            match stmt {
                Stmt::Add(v, k) => self.set(*v, self.get(*v) + k),
                Stmt::Copy(v, w, k) => self.set(*v, self.get(*w) + k),
                Stmt::Print(v) => self.out.push_str(&format!("{}\n", self.get(*v))),
                Stmt::Compare(v, w, less) => {
                    let (x, y) = (self.get(*v), self.get(*w));
                    self.out.push_str(&format!("{}\n", if *less { x < y } else { x == y }));
                }
                Stmt::If(v, w, then, otherwise) => {
                    let branch = if self.get(*v) < self.get(*w) { then } else { otherwise };
                    self.scopes.push(HashMap::new());
                    self.run(branch);
                    self.scopes.pop();
                }
                Stmt::Repeat(n, body) => {
                    for _ in 0..*n {
                        self.scopes.push(HashMap::new());
                        self.run(body);
                        self.scopes.pop();
                    }
                }
                Stmt::Block(v, k, body) => {
                    self.scopes.push(HashMap::from([(*v, *k)]));
                    self.run(body);
                    self.scopes.pop();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn both_engines_print_what_the_model_prints(program in prop::collection::vec(stmt(), 1..10)) {
        let mut source = String::from("var a = 0;\nvar b = 0;\nvar c = 0;\n");
        write(&program, &mut source);
        let globals = VARS.iter().map(|&v| (v, 0)).collect();
        let mut model = Model { scopes: vec![globals], out: String::new() };
        model.run(&program);
        for lox in [Lox::new(Engine::Vm), Lox::new(Engine::Tree), Lox::new(Engine::Vm).gc_stress(true)] {
            let printed = lox.run_captured(&source).unwrap();
            prop_assert_eq!(&printed, &model.out, "{:?}\n{}", lox, source);
        }
    }
}
