//! Fuzzes the YAML front end: any text is read, checked against the schema and compiled
//! without a panic, and a journey that reads converts to the DSL and back to the same IR.

#![no_main]

use ferry::compile::compile_source;
use ferry::syntax::{Spelling, print};
use ferry::syntax::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.yaml", text);
    let compiled = compile_source(&file);
    let Ok(converted) = print::convert(&file, Spelling::Dsl) else {
        return;
    };
    let dsl = SourceFile::new("fuzz.journey", converted.text);
    if let Ok(compiled) = compiled {
        let back = compile_source(&dsl).unwrap_or_else(|d| panic!("DSL form refused: {d:?}"));
        assert_eq!(back.journey.def, compiled.journey.def, "conversion changed the journey");
    }
});
