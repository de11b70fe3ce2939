//! `ferry providers`: the capability matrix.

use std::process::ExitCode;

use ferry::providers::{Method, Provider, Support};

use super::Failure;

/// Arguments of `ferry providers`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also print the condition behind each conditional cell.
    #[arg(long)]
    conditions: bool,
}

/// Prints the matrix.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    print!("{:<14}", "provider");
    for method in Method::ALL {
        print!("{:<12}", method.name());
    }
    println!();
    for provider in Provider::ALL {
        print!("{:<14}", provider.name());
        for method in Method::ALL {
            let cell = match provider.support(*method) {
                Support::Yes => "yes",
                Support::Conditional(_) => "conditional",
                Support::No => "-",
            };
            print!("{cell:<12}");
        }
        println!();
    }
    if args.conditions {
        println!();
        for provider in Provider::ALL {
            for method in Method::ALL {
                if let Support::Conditional(why) = provider.support(*method) {
                    println!("{} {}: {why}", provider.name(), method.name());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
