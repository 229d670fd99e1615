#include <cstdio>
int main() { std::puts("moxing"); return 0; }
