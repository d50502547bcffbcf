//! Behaviour that the engines' shortcuts must not change, checked on both engines: fields that
//! shadow methods, property hints that guess wrong, where the tree-walker keeps captured
//! variables, the VM's fused instructions, NaN from the host, and the disassembler.

use byo_loxlike::{Engine, HostValue, Lox};

const ENGINES: [Engine; 2] = [Engine::Tree, Engine::Vm];

fn output(engine: Engine, source: &str) -> String {
    Lox::new(engine).run_captured(source).unwrap()
}

#[test]
fn a_field_set_later_shadows_a_method_of_the_same_name() {
    let source = "
class A { m() { return \"method\"; } }
fun f() { return \"field\"; }
var a = A();
var b = A();
print a.m();
a.m = f;
print a.m();
print b.m();
b.other = f;
print b.other();";
    for engine in ENGINES {
        assert_eq!(output(engine, source), "method\nfield\nmethod\nfield\n", "{engine:?}");
    }
}

#[test]
fn one_property_site_sees_instances_whose_fields_lie_in_different_orders() {
    // The same `o.x` instruction reads instances that have x first, last and missing, so its
    // position hint is wrong half of the time.
    let source = "
class P {}
fun get(o) { return o.x; }
var a = P(); a.x = 1; a.y = 2; a.z = 3;
var b = P(); b.z = 30; b.y = 20; b.x = 10;
var total = 0;
for (var i = 0; i < 100; i = i + 1) {
  total = total + get(a) + get(b);
  a.x = a.x + 1;
  b.x = b.x + 1;
}
print total;
var c = P(); c.y = 5;
print get(c);";
    for engine in ENGINES {
        let result = Lox::new(engine).run_captured(source);
        let error = result.unwrap_err().to_string();
        assert!(error.starts_with("Undefined property 'x'."), "{engine:?}: {error}");
    }
    let without_last = source.rsplit_once("var c").unwrap().0;
    // Sum over i of (1 + i) + (10 + i) = 100 * 11 + 2 * 4950.
    for engine in ENGINES {
        assert_eq!(output(engine, without_last), "11000\n", "{engine:?}");
    }
}

#[test]
fn a_nan_from_the_host_is_a_number_that_is_not_equal_to_itself() {
    let weird = f64::from_bits(0x7fff_ffff_0000_0001);
    assert!(weird.is_nan());
    for engine in ENGINES {
        let lox = Lox::new(engine).native("weird", 0, move |_| Ok(HostValue::Number(weird)));
        let out = lox.run_captured("var n = weird(); print n == n; print n + 1 == n; print -n;");
        // clox's `%g` (glibc) prints a NaN's sign; Java's Double.toString does not.
        let expected = match engine {
            Engine::Vm => "false\nfalse\n-nan\n",
            Engine::Tree => "false\nfalse\nNaN\n",
        };
        assert_eq!(out.unwrap(), expected, "{engine:?}");
    }
}

#[test]
fn the_disassembler_lists_inner_functions_before_the_script() {
    let listing = byo_loxlike::disassemble("fun f(a) { return a; }\nprint f(1);").unwrap();
    let headers: Vec<&str> = listing.lines().filter(|l| l.starts_with("==")).collect();
    assert_eq!(headers, ["== f ==", "== <script> =="]);
    assert!(listing.contains("OP_CLOSURE          0 <fn f>"), "{listing}");
    assert!(listing.contains("OP_CALL             1\n"), "{listing}");
}

#[test]
fn a_method_call_finds_the_method_of_a_new_class_in_a_freed_classs_place() {
    // Each call of `one` or `two` declares a new class whose `m` returns 1 or 2; the class is
    // garbage once `m` returned. Collecting before every allocation frees each one at once, so
    // later classes take freed classes' places in the heap: a method remembered for the class
    // that was there before must not be what `m()` calls.
    let source = "
fun one() { class C { m() { return 1; } } return C(); }
fun two() { class C { m() { return 2; } } return C(); }
var sum = 0;
for (var i = 0; i < 100; i = i + 1) { sum = sum + one().m() + two().m() * 1000; }
print sum;";
    for stress in [false, true] {
        let output = Lox::new(Engine::Vm).gc_stress(stress).run_captured(source).unwrap();
        assert_eq!(output, "200100\n", "gc stress {stress}");
    }
}

#[test]
fn operators_with_a_literal_right_operand_behave_as_with_any_other() {
    // The VM compiles `x op 2` to one instruction carrying the constant; results, NaN
    // comparisons and error messages must be those of the two-instruction form.
    let source = "
var x = 7; var two = 2; var nan = 0 / 0;
print x + 2; print x - 2; print x * 2; print x / 2;
print x + two; print x - two; print x * two; print x / two;
print x < 2; print x <= 7; print x > 2; print x >= 8;
print nan < 1; print nan <= 1; print nan > 1; print nan >= 1;";
    let expected =
        "9\n5\n14\n3.5\n9\n5\n14\n3.5\nfalse\ntrue\ntrue\nfalse\nfalse\nfalse\nfalse\nfalse\n";
    for engine in ENGINES {
        assert_eq!(output(engine, source), expected, "{engine:?}");
        for (program, message) in [
            ("print \"a\" + 1;", "Operands must be two numbers or two strings."),
            ("print nil - 1;", "Operands must be numbers."),
            ("print true * 1;", "Operands must be numbers."),
            ("print \"a\" / 1;", "Operands must be numbers."),
            ("print nil < 1;", "Operands must be numbers."),
            ("print nil <= 1;", "Operands must be numbers."),
            ("print nil > 1;", "Operands must be numbers."),
            ("print nil >= 1;", "Operands must be numbers."),
        ] {
            let error = Lox::new(engine).run_captured(program).unwrap_err().to_string();
            assert!(error.starts_with(message), "{engine:?} {program}: {error}");
        }
    }
}

#[test]
fn captured_variables_are_shared_and_each_declaration_run_makes_a_new_one() {
    // The tree-walker keeps a variable that a nested function uses in a cell made each time
    // its declaration runs, and everything else in frame slots that sibling blocks reuse.
    let source = "
var closures = nil;
class Node { init(f, next) { this.f = f; this.next = next; } }
for (var i = 0; i < 3; i = i + 1) {
  var j = i * 10;
  fun get() { return j; }
  closures = Node(get, closures);
  j = j + 1;
}
while (closures != nil) { print closures.f(); closures = closures.next; }
{ var a = \"a\"; print a; }
{ var b = \"b\"; fun show() { print b; } b = \"b2\"; show(); }
fun counter(start) {
  fun add(n) { start = start + n; return start; }
  return add;
}
var c = counter(5);
c(1);
print c(2);
fun outer() {
  var x = \"outer\";
  fun middle() { fun inner() { return x; } return inner; }
  x = \"changed\";
  return middle();
}
print outer()();
{
  fun fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }
  print fib(15);
  class Box {
    init(v) { this.v = v; fun peek() { return this.v; } this.peek = peek; }
    again() { return Box(this.v + 1); }
  }
  var b = Box(1);
  print b.peek();
  print b.again().peek();
  print b.init(7) == b;
  print b.peek();
}
class Base { name() { return \"base\"; } }
class Derived < Base {
  name() { fun later() { return super.name() + \"+derived\"; } return later; }
}
print Derived().name()();";
    let expected = "21\n11\n1\na\nb2\n8\nchanged\n610\n1\n2\ntrue\n7\nbase+derived\n";
    for engine in ENGINES {
        assert_eq!(output(engine, source), expected, "{engine:?}");
    }
}

#[test]
fn an_instance_with_many_fields_finds_each_of_them() {
    // The tree-walker searches a short field list in order and indexes a long one.
    let sets: String = (0..40).map(|i| format!("o.f{i} = {i};")).collect();
    let overwrite: String = (0..40).step_by(3).map(|i| format!("o.f{i} = o.f{i} * 100;")).collect();
    let sum: Vec<String> = (0..40).map(|i| format!("o.f{i}")).collect();
    let source = format!(
        "class O {{}} var o = O(); {sets} {overwrite} print {}; var p = O(); p.f39 = 1; print p.f39;",
        sum.join(" + ")
    );
    // 0..40 sums to 780; the overwritten ones (0, 3, ..., 39) add 99 times their sum, 273.
    let expected = format!("{}\n1\n", 780 + 99 * 273);
    for engine in ENGINES {
        assert_eq!(output(engine, &source), expected, "{engine:?}");
    }
}

#[test]
fn fused_instructions_behave_as_the_pairs_they_replace() {
    // The VM compiles a test that pops its condition, `local.name` in one instruction, and
    // assignment statements that store and pop at once. Every shape of each, and a loop long
    // enough that a value left behind on each pass would overflow the stack.
    let source = "
var g = 0;
class P { init() { this.x = 1; } sum(o) { return this.x + o.x; } }
fun f(o) { var local = o; return local.x; }
fun counter() { var n = 0; fun inc() { n = n + 1; return n; } return inc; }
for (var i = 0; i < 20000; i = i + 1) {
  var l = i;
  l = l + 1;
  g = g + 1;
  var p = P();
  p.x = l;
  if (i == 19999) print p.sum(p);
}
print g;
if (nil) print \"no\"; else print \"nil is false\";
if (false) print \"no\";
if (0) print \"0 is true\";
if (\"\") print \"empty is true\"; else print \"no\";
var w = 3;
while (w > 0) w = w - 1;
print w;
print f(P());
var c = counter(); c(); print c();
print nil and 1; print 1 and 2; print nil or 3; print 4 or nil;";
    let expected = "40000\n20000\nnil is false\n0 is true\nempty is true\n0\n1\n2\nnil\n2\n3\n4\n";
    for engine in ENGINES {
        assert_eq!(output(engine, source), expected, "{engine:?}");
        for (program, message, line) in [
            ("fun f() {\n var n = 1;\n n.x; }\nf();", "Only instances have properties.", 3),
            ("fun f() {\n var n = 1;\n n.x = 2; }\nf();", "Only instances have fields.", 3),
            ("var a = 1;\n\nnope = a;", "Undefined variable 'nope'.", 3),
        ] {
            let Err(byo_loxlike::Error::Runtime(error)) = Lox::new(engine).run_captured(program)
            else {
                panic!("{engine:?} {program}: no runtime error");
            };
            assert_eq!(error.message, message, "{engine:?} {program}");
            assert!(error.trace[0].starts_with(&format!("[line {line}]")), "{error:?}");
        }
    }
    let listing = byo_loxlike::disassemble("fun f(o) { o.x = o.y; if (o) o = 1; }").unwrap();
    for expected in ["OP_GET_LOCAL_PROPERTY", "OP_SET_PROPERTY_POP", "OP_POP_JUMP_IF_FALSE"] {
        assert!(listing.contains(expected), "{expected}: {listing}");
    }
    assert!(listing.contains("OP_SET_LOCAL_POP    1\n"), "{listing}");
}
