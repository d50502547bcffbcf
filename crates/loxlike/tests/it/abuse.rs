//! Hostile programs: deep nesting, runaway loops and allocation, and the limits that stop them.

use byo_loxlike::{Engine, Error, Limits, Lox};

const ENGINES: [Engine; 2] = [Engine::Tree, Engine::Vm];

fn run(engine: Engine, source: &str) -> Result<String, Error> {
    Lox::new(engine).run_captured(source)
}

fn compile_error(result: Result<String, Error>) -> String {
    match result {
        Err(Error::Compile(errors)) => errors.to_string(),
        other => panic!("expected a compile error, got {other:?}"),
    }
}

fn runtime_error(result: Result<String, Error>) -> String {
    match result {
        Err(Error::Runtime(error)) => error.message,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn a_hundred_thousand_nested_constructs_are_a_clean_compile_error() {
    let n = 100_000;
    let cases = [
        format!("print {}1{};", "(".repeat(n), ")".repeat(n)),
        format!("print {}1;", "-".repeat(n)),
        format!("print {}true;", "!".repeat(n)),
        format!("{}{}", "{".repeat(n), "}".repeat(n)),
        format!("fun f(x) {{ return x; }} print {}1{};", "f(".repeat(n), ")".repeat(n)),
        format!("var a; {} 1;", "a = ".repeat(n)),
        format!("{} print 1;", "if (true) ".repeat(n)),
        format!("{} print 1;", "while (false) ".repeat(n)),
        "fun f() {".repeat(n),
    ];
    for engine in ENGINES {
        for source in &cases {
            let errors = compile_error(run(engine, source));
            assert!(errors.contains("Too much nesting."), "{engine:?}: {errors}");
        }
    }
}

#[test]
fn nesting_up_to_the_limit_still_runs() {
    let depth = 100;
    let source = format!("print {}1{};", "(".repeat(depth), ")".repeat(depth));
    for engine in ENGINES {
        assert_eq!(run(engine, &source).unwrap(), "1\n");
    }
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_error() {
    for engine in ENGINES {
        let message = runtime_error(run(engine, "fun f() { f(); } f();"));
        assert_eq!(message, "Stack overflow.");
        // Deep recursion through methods and initializers, too.
        let message = runtime_error(run(engine, "class A { init() { A(); } } A();"));
        assert_eq!(message, "Stack overflow.");
    }
}

#[test]
fn filling_the_value_stack_is_a_stack_overflow_error_not_a_crash() {
    // Each level of `f` holds 453 value slots (itself, `n`, 250 locals, `g` and 200 pending
    // arguments of `g`), so 41 levels need more than the VM's 16,384 slots while staying far
    // below its 64 frames.
    let locals: String = (0..250).map(|i| format!("var l{i};")).collect();
    let params: Vec<String> = (0..200).map(|i| format!("p{i}")).collect();
    let nils = vec!["nil"; 200].join(", ");
    let program = |depth: usize| {
        format!(
            "fun g({}, x) {{ return x; }}
             fun f(n) {{ {locals} if (n == 0) return 0; return g({nils}, f(n - 1)); }}
             print f({depth});",
            params.join(", ")
        )
    };
    assert_eq!(runtime_error(run(Engine::Vm, &program(40))), "Stack overflow.");
    assert_eq!(run(Engine::Vm, &program(20)).unwrap(), "0\n");
}

#[test]
fn fuel_stops_an_infinite_loop() {
    for engine in ENGINES {
        let lox = Lox::new(engine).limits(Limits { fuel: Some(10_000), memory: None });
        let message = runtime_error(lox.run_captured("var i = 0; while (true) { i = i + 1; }"));
        assert_eq!(message, "Instruction budget exhausted.");
        // Enough fuel lets a program finish.
        let lox = Lox::new(engine).limits(Limits { fuel: Some(10_000), memory: None });
        assert_eq!(
            lox.run_captured("var i = 0; while (i < 10) i = i + 1; print i;").unwrap(),
            "10\n"
        );
    }
}

#[test]
fn the_memory_limit_stops_runaway_allocation_but_not_garbage() {
    // Fuel too, so that a limit that failed to stop a hoarder fails the test, not hangs it.
    let limits = Limits { fuel: Some(20_000_000), memory: Some(4 << 20) };
    let hoarders = [
        // A list of instances, a string doubled until no machine could hold it, and a chain
        // of closures that each capture the one before (no instance in sight).
        "class Node { init(next) { this.next = next; } }\n\
         var list = nil; while (true) list = Node(list);",
        "var s = \"x\"; while (true) s = s + s;",
        "var f = nil; while (true) { var g = f; fun h() { return g; } f = h; }",
    ];
    for engine in ENGINES {
        for hoarder in hoarders {
            let message = runtime_error(Lox::new(engine).limits(limits).run_captured(hoarder));
            assert_eq!(message, "Memory limit exceeded.", "{engine:?} {hoarder}");
        }
        // Freed objects are uncounted, so a program that allocates a lot but keeps little
        // runs to the end, in the VM by collecting, in the tree-walker as references go.
        let churn = "class P { init(x) { this.x = x; } }\n\
                     var total = 0; for (var i = 0; i < 100000; i = i + 1) total = total + P(i).x;\n\
                     var s = \"\"; for (var i = 0; i < 1000; i = i + 1) s = \"x\" + s + \"x\";\n\
                     print total == 4999950000; print s == s;";
        let output = Lox::new(engine).limits(limits).run_captured(churn);
        assert_eq!(output.unwrap(), "true\ntrue\n", "{engine:?}");
    }
}

#[test]
fn nan_is_not_equal_to_itself_in_either_engine() {
    let source =
        "var nan = 0/0; print nan == nan; print nan != nan; print nan >= 1; print nan <= 1;";
    for engine in ENGINES {
        assert_eq!(run(engine, source).unwrap(), "false\ntrue\nfalse\nfalse\n", "{engine:?}");
    }
}

#[test]
fn host_functions_are_callable_and_checked() {
    for engine in ENGINES {
        let lox = Lox::new(engine).native("twice", 1, |args| match args {
            [byo_loxlike::HostValue::Number(n)] => Ok(byo_loxlike::HostValue::Number(n * 2.0)),
            _ => Err("twice wants a number.".into()),
        });
        assert_eq!(lox.run_captured("print twice(21);").unwrap(), "42\n");
        assert_eq!(runtime_error(lox.run_captured("twice(\"a\");")), "twice wants a number.");
        assert_eq!(
            runtime_error(lox.run_captured("twice(1, 2);")),
            "Expected 1 arguments but got 2."
        );
    }
}

#[test]
fn the_benchmark_programs_that_clox_rejects_run_here() {
    // clox fails on string_equality.lox ("Too many constants in one chunk.") because every
    // use of a global name adds a constant; globals here are slots, not constants.
    let mut source = String::from("var a1 = \"x\"; var a2 = \"y\"; var n = 0; var one = 1;\n");
    for _ in 0..300 {
        source.push_str("if (a1 == a2) n = n + one; a1; a2;\n");
    }
    source.push_str("print n;");
    assert_eq!(run(Engine::Vm, &source).unwrap(), "0\n");
}
