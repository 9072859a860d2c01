fn main() {
    let q = std::env::args().nth(1).unwrap_or_default();
    match snapback_aql::parse(&q) {
        Ok(_) => {
            println!("OK");
            for d in snapback_aql::lint(&q, &Default::default()) {
                println!("{d}");
            }
        }
        Err(e) => println!("{e}"),
    }
}
