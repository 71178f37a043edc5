// Migrations are embedded at compile time: rebuild whenever one is added or edited.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
