fn main() {
    std::process::exit(responder::control::main());
}
