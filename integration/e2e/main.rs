//! End-to-end tests against real peers: the stand-in's OpenID provider, curl, and more.
//! Each test gets a fresh HOME and a cleared environment (see `util`).

mod chromium;
mod client;
mod config;
mod device;
mod login;
mod login_browser;
mod output;
mod prompt;
mod proxy;
mod running;
mod storage;
mod storage_python;
mod storage_system;
mod util;
