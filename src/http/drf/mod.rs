//! Django REST framework's and Django's request handling, as jwtd reproduces it for its
//! clients: request bodies parsed as DRF's parsers and Python's `json` read them, the
//! serializer fields and their messages, the OPTIONS metadata, Django's CSRF check and the
//! origin a request came to.

pub mod csrf;
pub mod fields;
pub mod json;
pub mod metadata;
pub mod origin;
pub mod pagination;
pub mod parsers;
pub mod search;
