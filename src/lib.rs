//! `anaconda-auth`: log in to Anaconda Cloud, keep the API key where the Python package
//! `anaconda-cloud-auth` keeps it, and hand it to other tools through a credential-helper
//! protocol (see `spec/protocol.md` and PRODUCT.md).

pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod dotenv;
pub mod error;
pub mod http;
pub mod interactive;
pub mod login;
pub mod protocol;
pub mod resolve;
pub mod secret;
pub mod storage;
pub mod token;

pub use client::{Client, ClientBuilder};
pub use config::Settings;
pub use domain::Domain;
pub use error::{Error, Result};
pub use secret::Secret;
