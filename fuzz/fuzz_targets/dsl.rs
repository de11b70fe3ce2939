//! Fuzzes the DSL front end: any text is read, checked and compiled without a panic, and
//! whatever the formatter accepts it formats to a fixed point.

#![no_main]

use ferry::compile::compile_source;
use ferry::syntax::print;
use ferry::syntax::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.journey", text);
    let _ = compile_source(&file);
    if let Ok(formatted) = print::format_dsl(&file) {
        let again = SourceFile::new("again.journey", formatted.clone());
        match print::format_dsl(&again) {
            Ok(twice) => assert_eq!(twice, formatted, "formatting is not idempotent"),
            Err(d) => panic!("formatted text does not parse: {d:?}\n{formatted}"),
        }
    }
});
