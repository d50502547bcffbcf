//! byo-loxlike's two engines against `lox-lang` (a Lox bytecode VM on crates.io), in-process,
//! on the same programs; and the front end on its own.
//!
//! - `front_end`: scanning, parsing and resolving a program of `n` functions and classes (a
//!   loop, a closure, `super`), and the same plus compiling it to bytecode and listing it;
//! - `run/<program>`: compiling and running a small program from the official benchmark's
//!   families: recursive calls (`fib`), method calls (`method_call`), field access
//!   (`properties`), allocation of instances (`binary_trees`), string concatenation and
//!   equality (`strings`). Each engine gets the identical source and prints one line, into a
//!   buffer.
//!
//! The side-by-side figures against the reference interpreters (clox, jlox) are taken from
//! outside, as process CPU time: see `scripts/vs-reference.sh`.
//!
//! Run: `cargo bench -p byo-loxlike --bench loxlike` (about 5 minutes).

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;

use byo_loxlike::{Engine, Lox};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// `n` functions and classes with a bit of everything the front end handles. Each adds three
/// constants to the script's chunk (a function and two methods), so `n` stays below 85.
fn program(n: usize) -> String {
    let mut source = String::new();
    for i in 0..n {
        source.push_str(&format!(
            "fun f{i}(a, b) {{\n  var total = 0;\n  for (var j = 0; j < a; j = j + 1) {{\n    \
             if (j > b and !(j == 3)) total = total + j * 2; else total = total - 1;\n  }}\n  \
             fun inner() {{ return total + a; }}\n  return inner;\n}}\n\
             class C{i} < Object {{\n  init(x) {{ this.x = x; }}\n  get() {{ return \
             super.get() + this.x + \"s{i}\"; }}\n}}\n"
        ));
    }
    format!("class Object {{ get() {{ return 0; }} }}\n{source}")
}

fn front_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("front_end");
    for n in [20, 80] {
        let source = program(n);
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("byo-loxlike-parse", n), &source, |b, source| {
            b.iter(|| {
                byo_loxlike::syntax::parse(black_box(source), byo_loxlike::Dialect::Clox)
                    .expect("parses")
            })
        });
        group.bench_with_input(
            BenchmarkId::new("byo-loxlike-parse-and-compile", n),
            &source,
            |b, source| {
                b.iter(|| byo_loxlike::disassemble(black_box(source)).expect("compiles").len())
            },
        );
    }
    group.finish();
}

const FIB: &str = "fun fib(n) { if (n < 2) return n; return fib(n - 2) + fib(n - 1); }
print fib(20);";

const METHOD_CALL: &str = "class Toggle {
  init(state) { this.state = state; }
  value() { return this.state; }
  activate() { this.state = !this.state; return this; }
}
var toggle = Toggle(true);
for (var i = 0; i < 20000; i = i + 1) toggle.activate().activate().value();
print toggle.value();";

const PROPERTIES: &str = "class Foo {
  init() { this.a = 1; this.b = 2; this.c = 3; this.d = 4; this.e = 5; }
  sum() { return this.a + this.b + this.c + this.d + this.e; }
}
var foo = Foo();
var total = 0;
for (var i = 0; i < 20000; i = i + 1) total = total + foo.sum();
print total;";

const BINARY_TREES: &str = "class Tree {
  init(item, depth) {
    this.item = item;
    this.depth = depth;
    if (depth > 0) {
      this.left = Tree(item - 1, depth - 1);
      this.right = Tree(item + 1, depth - 1);
    } else {
      this.left = nil;
      this.right = nil;
    }
  }
  check() {
    if (this.left == nil) return this.item;
    return this.item + this.left.check() - this.right.check();
  }
}
var total = 0;
for (var i = 0; i < 20; i = i + 1) total = total + Tree(i, 10).check();
print total;";

const STRINGS: &str = "var s = \"\";
var same = 0;
for (var i = 0; i < 2000; i = i + 1) {
  s = s + \"x\";
  if (s == \"xxxxxxxxxx\") same = same + 1;
}
print same;";

fn run(c: &mut Criterion) {
    let programs = [
        ("fib", FIB),
        ("method_call", METHOD_CALL),
        ("properties", PROPERTIES),
        ("binary_trees", BINARY_TREES),
        ("strings", STRINGS),
    ];
    let vm = Lox::new(Engine::Vm);
    let tree = Lox::new(Engine::Tree);
    for (name, source) in programs {
        // The three must agree before they are timed.
        let expected = vm.run_captured(source).expect("byo vm runs");
        assert_eq!(tree.run_captured(source).expect("byo tree runs"), expected, "{name}");
        assert_eq!(lox_lang_run(source), expected, "{name}");

        let mut group = c.benchmark_group(format!("run/{name}"));
        group.bench_function(BenchmarkId::new("byo-loxlike-vm", name), |b| {
            b.iter(|| vm.run_captured(black_box(source)).expect("runs"))
        });
        group.bench_function(BenchmarkId::new("byo-loxlike-tree", name), |b| {
            b.iter(|| tree.run_captured(black_box(source)).expect("runs"))
        });
        group.bench_function(BenchmarkId::new("lox-lang", name), |b| {
            b.iter(|| lox_lang_run(black_box(source)))
        });
        group.finish();
    }
}

/// Runs `source` on a fresh `lox-lang` VM and returns what it printed.
fn lox_lang_run(source: &str) -> String {
    let mut vm = lox_lang::VM::default();
    vm.buffer_output(true);
    vm.interpret(source).expect("lox-lang runs");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut vm, &mut out).expect("buffered output");
    out
}

criterion_group!(benches, front_end, run);
criterion_main!(benches);
