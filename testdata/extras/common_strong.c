int strong_wins = 42;
