//! Any bytes as a Lox program, through the front end and both engines, with fuel and a memory
//! limit so that no input can run for long. The property: no panic, no native stack overflow,
//! and a result that is output, a compile error or a runtime error.
#![no_main]

use byo_loxlike::{Engine, Limits, Lox};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let limits = Limits { fuel: Some(20_000), memory: Some(8 << 20) };
    for engine in [Engine::Vm, Engine::Tree] {
        let _ = Lox::new(engine).limits(limits).run_captured(&source);
    }
    // Collecting before every allocation must not change what a program prints.
    let normal = Lox::new(Engine::Vm).limits(limits).run_captured(&source);
    let stressed = Lox::new(Engine::Vm).limits(limits).gc_stress(true).run_captured(&source);
    // (`clock()` is the one thing that may legitimately print differently.)
    if let (Ok(a), Ok(b), false) = (&normal, &stressed, source.contains("clock")) {
        assert_eq!(a, b);
    }
    let _ = byo_loxlike::syntax::printer::dump_tokens(&source);
});
